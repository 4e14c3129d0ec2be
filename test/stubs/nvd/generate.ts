import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** One vulnerabilities[] item in NVD's CVE API 2.0 / JSON 2.0 feed shape. */
export function nvdItem(n: number, year = 2024, lastModified = '2024-06-01T12:00:00.000'): Record<string, unknown> {
  const id = `CVE-${year}-${String(10000 + n)}`;
  const product = ['openssl', 'nginx', 'log4j', 'openssh', 'curl'][n % 5] as string;
  const vendor = { openssl: 'openssl', nginx: 'f5', log4j: 'apache', openssh: 'openbsd', curl: 'haxx' }[product] as string;
  return {
    cve: {
      id,
      sourceIdentifier: 'cve@mitre.org',
      published: '2024-01-15T10:15:08.000',
      lastModified,
      vulnStatus: 'Analyzed',
      cveTags: [],
      descriptions: [
        { lang: 'en', value: `A buffer overflow in ${product} before 3.${n % 10}.0 allows remote attackers to execute code via crafted input (${id}).` },
        { lang: 'es', value: `Desbordamiento de búfer en ${product}.` },
      ],
      metrics: {
        cvssMetricV40: n % 3 === 0 ? [{ source: 'nvd@nist.gov', type: 'Primary', cvssData: { version: '4.0', vectorString: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', baseScore: 9.3, baseSeverity: 'CRITICAL' } }] : undefined,
        cvssMetricV31: [
          { source: 'nvd@nist.gov', type: 'Primary', cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8, baseSeverity: 'CRITICAL', attackVector: 'NETWORK', attackComplexity: 'LOW', privilegesRequired: 'NONE', userInteraction: 'NONE', scope: 'UNCHANGED', confidentialityImpact: 'HIGH', integrityImpact: 'HIGH', availabilityImpact: 'HIGH' }, exploitabilityScore: 3.9, impactScore: 5.9 },
          { source: 'cve@mitre.org', type: 'Secondary', cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 8.1, baseSeverity: 'HIGH' }, exploitabilityScore: 2.2, impactScore: 5.9 },
        ],
      },
      weaknesses: [{ source: 'nvd@nist.gov', type: 'Primary', description: [{ lang: 'en', value: n % 2 ? 'CWE-787' : 'CWE-79' }] }],
      configurations: [
        {
          nodes: [
            {
              operator: 'OR',
              negate: false,
              cpeMatch: [
                { vulnerable: true, criteria: `cpe:2.3:a:${vendor}:${product}:*:*:*:*:*:*:*:*`, versionStartIncluding: '3.0.0', versionEndExcluding: `3.${n % 10}.0`, matchCriteriaId: '0F1A2B3C-0000-4000-8000-000000000001' },
                { vulnerable: true, criteria: `cpe:2.3:a:${vendor}:${product}:2.9.${n % 7}:*:*:*:*:*:*:*`, matchCriteriaId: '0F1A2B3C-0000-4000-8000-000000000002' },
              ],
            },
          ],
        },
      ],
      references: [{ url: `https://www.example.org/advisories/${id}`, source: 'cve@mitre.org', tags: ['Vendor Advisory'] }],
    },
  };
}

/** Writes a JSON 2.0 feed file with `count` items (streamed out, so a big file costs no memory here either). */
export async function writeNvdFeedFile(path: string, count: number, options: { malformedEvery?: number } = {}): Promise<number> {
  const out = createWriteStream(path);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write(`{"resultsPerPage":${count},"startIndex":0,"totalResults":${count},"format":"NVD_CVE","version":"2.0","timestamp":"2024-06-02T00:00:00.000","vulnerabilities":[\n`);
  for (let i = 0; i < count; i++) {
    const item = options.malformedEvery && i % options.malformedEvery === options.malformedEvery - 1 ? { cve: { id: `not-a-cve-${i}` } } : nvdItem(i);
    await write(`${i ? ',\n' : ''}${JSON.stringify(item)}`);
  }
  await write('\n]}\n');
  out.end();
  await once(out, 'finish');
  return out.bytesWritten;
}
