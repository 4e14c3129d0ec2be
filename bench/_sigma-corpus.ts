import { stringify as toYaml } from 'yaml';

/**
 * A synthetic but realistic corpus for the matcher benchmark: Sigma rules with the shapes real
 * process-creation, registry and network-connection rules have (Image|endswith + CommandLine|contains,
 * contains|all, parent filters, CommandLine-only rules, TargetObject|contains, DestinationPort lists, CIDRs),
 * and endpoint events that look like a workstation fleet's (mostly benign, a few hits). Deterministic (seeded).
 */

export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LOLBINS = ['certutil.exe', 'mshta.exe', 'rundll32.exe', 'regsvr32.exe', 'bitsadmin.exe', 'wmic.exe', 'cscript.exe', 'wscript.exe', 'msiexec.exe', 'powershell.exe', 'pwsh.exe', 'cmd.exe', 'schtasks.exe', 'sc.exe', 'reg.exe', 'net.exe', 'net1.exe', 'whoami.exe', 'vssadmin.exe', 'wevtutil.exe', 'bcdedit.exe', 'netsh.exe', 'installutil.exe', 'regasm.exe', 'msbuild.exe', 'odbcconf.exe', 'forfiles.exe', 'hh.exe', 'control.exe', 'cmstp.exe'];
const VENDORS = ['acme', 'contoso', 'fabrikam', 'northwind', 'tailspin', 'woodgrove', 'litware', 'adatum', 'proseware', 'wingtip'];
const WORDS = ['update', 'sync', 'agent', 'helper', 'service', 'launcher', 'setup', 'client', 'monitor', 'backup', 'report', 'scan', 'host', 'runner', 'daemon'];
const FLAGS = ['-enc', '-nop', '-w hidden', '/c', '/s', '/q', '-urlcache', '-split', '-f', '/i:', 'scrobj.dll', 'javascript:', 'vbscript:', 'DownloadString', 'IEX', 'Invoke-WebRequest', 'FromBase64String', 'shadowcopy delete', 'process call create', '/transfer', 'comsvcs.dll', 'MiniDump', 'add-mppreference', '-ExclusionPath', 'sekurlsa', 'lsass', '/create /tn', 'config', 'start= auto', 'AppData\\Local\\Temp', '\\Users\\Public\\', 'http://', '.hta', '.sct', 'regsvcs', 'Bypass', '-EncodedCommand', 'Hidden', 'clear-log', 'cl System'];
const REG_KEYS = ['\\CurrentVersion\\Run', '\\CurrentVersion\\RunOnce', '\\Winlogon\\Shell', '\\Winlogon\\Userinit', '\\Image File Execution Options\\', '\\Services\\', '\\Environment\\UserInitMprLogonScript', '\\Policies\\Explorer\\Run', '\\Windows Defender\\Exclusions', '\\Control\\SecurityProviders', '\\Lsa\\Notification Packages', '\\AppInit_DLLs', '\\Office\\Outlook\\Security', '\\Terminal Server\\fDenyTSConnections', '\\InprocServer32\\'];
const DIRS = ['C:\\Windows\\System32\\', 'C:\\Windows\\SysWOW64\\', 'C:\\Program Files\\', 'C:\\Users\\alice\\AppData\\Local\\Temp\\', 'C:\\ProgramData\\', 'C:\\Users\\Public\\'];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}
function some<T>(r: () => number, list: readonly T[], min: number, max: number): T[] {
  const n = min + Math.floor(r() * (max - min + 1));
  const out = new Set<T>();
  while (out.size < n) out.add(pick(r, list));
  return [...out];
}

/** Program names beyond the LOLBins: vendor tools, so most rules target rare binaries, as real packs do. */
export function programNames(count: number): string[] {
  const r = prng(7);
  const out = new Set<string>(LOLBINS);
  while (out.size < count) out.add(`${pick(r, VENDORS)}${pick(r, WORDS)}${Math.floor(r() * 100)}.exe`);
  return [...out];
}

const TACTICS = ['execution', 'persistence', 'defense_evasion', 'credential_access', 'command_and_control', 'lateral_movement', 'discovery'];

/** `count` Sigma rules as YAML text (one rule per string). */
export function generateRules(count: number, seed = 1): string[] {
  const r = prng(seed);
  const programs = programNames(600);
  const rules: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = r();
    let logsource: Record<string, string>;
    let detection: Record<string, unknown>;
    if (kind < 0.6) {
      logsource = { product: 'windows', category: 'process_creation' };
      const shape = r();
      if (shape < 0.15) {
        // CommandLine-only rules (no image to route on): the expensive kind.
        detection = { selection: { 'CommandLine|contains|all': some(r, FLAGS, 2, 3).map((f) => `${f}${i % 7 === 0 ? '' : ` ${i}`}`) }, condition: 'selection' };
      } else {
        const images = some(r, programs, 1, 3).map((p) => `\\${p}`);
        const sel: Record<string, unknown> = { 'Image|endswith': images };
        if (r() < 0.8) sel[r() < 0.5 ? 'CommandLine|contains' : 'CommandLine|contains|all'] = some(r, FLAGS, 1, 4);
        detection = { selection: sel, condition: 'selection' };
        if (r() < 0.3) {
          detection.filter = { 'ParentImage|endswith': some(r, programs, 1, 2).map((p) => `\\${p}`) };
          detection.condition = 'selection and not filter';
        }
        if (r() < 0.1) {
          detection.selection_alt = { 'OriginalFileName': images.map((x) => x.slice(1).toUpperCase()) };
          detection.condition = `(selection or selection_alt)${detection.filter ? ' and not filter' : ''}`;
        }
      }
    } else if (kind < 0.85) {
      logsource = { product: 'windows', category: 'registry_set' };
      const sel: Record<string, unknown> = { 'TargetObject|contains': some(r, REG_KEYS, 1, 2).map((k) => (r() < 0.5 ? `${k}${pick(r, WORDS)}` : k)) };
      if (r() < 0.5) sel['Details|contains'] = some(r, ['.exe', '.dll', 'powershell', 'cmd /c', '\\Temp\\', 'rundll32', 'http'], 1, 2);
      if (r() < 0.3) sel['Image|endswith'] = [`\\${pick(r, programs)}`];
      detection = { selection: sel, condition: 'selection' };
    } else {
      logsource = { product: 'windows', category: 'network_connection' };
      const sel: Record<string, unknown> = { 'Image|endswith': some(r, programs, 1, 3).map((p) => `\\${p}`) };
      const net = r();
      if (net < 0.4) sel.DestinationPort = some(r, [4444, 8080, 1337, 31337, 6667, 9001, 5985, 5986, 445, 3389], 1, 3);
      else if (net < 0.7) sel['DestinationHostname|endswith'] = some(r, ['.onion.to', '.ngrok.io', 'pastebin.com', '.duckdns.org', 'transfer.sh', '.top'], 1, 2);
      else sel['DestinationIp|cidr'] = some(r, ['198.51.100.0/24', '203.0.113.0/24', '192.0.2.0/24'], 1, 2);
      detection = { selection: sel, condition: 'selection' };
    }
    rules.push(
      toYaml({
        title: `Generated rule ${i}`,
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        status: 'test',
        tags: [`attack.${pick(r, TACTICS)}`, `attack.t1${String(Math.floor(r() * 600)).padStart(3, '0')}`],
        logsource,
        detection,
        level: pick(r, ['low', 'medium', 'high', 'critical']),
      }),
    );
  }
  return rules;
}

/** `count` endpoint events (ECS), mostly benign; LOLBins and flags appear so some rules fire. */
export function generateEvents(count: number, seed = 2, at = '2026-11-20T12:00:00.000Z'): Array<Record<string, unknown>> {
  const r = prng(seed);
  const programs = programNames(600);
  // The fleet's everyday software: names no rule targets (rules name attacker tools and LOLBins).
  const everyday = Array.from({ length: 400 }, (_, i) => `${pick(r, VENDORS)}${pick(r, WORDS)}-${i}.exe`);
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < count; i++) {
    const host = { name: `ws${String(Math.floor(r() * 500)).padStart(3, '0')}` };
    const user = { name: pick(r, ['alice', 'bob', 'carol', 'dave', 'SYSTEM', 'Administrator']) };
    const exeName = r() < 0.9 ? pick(r, everyday) : r() < 0.7 ? pick(r, LOLBINS) : pick(r, programs.slice(30));
    const executable = `${pick(r, DIRS)}${exeName}`;
    const kind = r();
    if (kind < 0.7) {
      const args = some(r, ['--silent', '/update', '-config', 'C:\\ProgramData\\app\\settings.json', '--log-level=info', ...(r() < 0.03 ? FLAGS : [])], 1, 4).join(' ');
      out.push({
        '@timestamp': at,
        event: { category: ['process'], type: ['start'], code: '1' },
        host,
        user,
        process: { executable, name: exeName, command_line: `"${executable}" ${args}`, pid: 1000 + i, parent: { executable: `C:\\Windows\\explorer.exe`, name: 'explorer.exe' }, pe: { original_file_name: exeName.toUpperCase() } },
      });
    } else if (kind < 0.85) {
      out.push({
        '@timestamp': at,
        event: { category: ['registry'], type: ['change'], code: '13' },
        host,
        user,
        process: { executable, name: exeName },
        // Most registry writes are applications' own settings; a few touch the keys attackers use.
        registry: { path: r() < 0.1 ? `HKLM\\SOFTWARE\\Microsoft\\Windows${pick(r, REG_KEYS)}${pick(r, WORDS)}` : `HKCU\\SOFTWARE\\${pick(r, VENDORS)}\\${pick(r, WORDS)}\\Settings\\${pick(r, WORDS)}`, data: { strings: [`C:\\Program Files\\${pick(r, VENDORS)}\\${pick(r, WORDS)}.exe`] } },
      });
    } else {
      out.push({
        '@timestamp': at,
        event: { category: ['network'], type: ['connection'], code: '3' },
        host,
        user,
        process: { executable, name: exeName },
        destination: { ip: r() < 0.1 ? `203.0.113.${Math.floor(r() * 255)}` : `10.1.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}`, port: pick(r, [443, 80, 8080, 4444, 53, 445]), domain: pick(r, ['update.contoso.com', 'cdn.fabrikam.net', 'x.ngrok.io', 'pastebin.com']) },
        network: { transport: 'tcp', direction: 'egress' },
      });
    }
  }
  return out;
}
