"""The code scanner's own rule set: regular expressions over one line of code, for any language.

Bandit judges Python by its syntax tree; these rules cover the other languages (JavaScript/TypeScript, Go,
Java, C#, PHP, Ruby, C, shell, SQL strings) and, where marked `python=True`, Python lines Bandit misses.
They look at one line at a time (its first 2,000 characters; every repetition is bounded, so a hostile
line costs linear time): a call split over lines or a value built far from where it is used is missed,
and a pattern inside a comment or a string is reported. Weak hashes count only on a line that also names
a password or secret (MD5 for a file checksum is no finding).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CATEGORIES: dict[str, str] = {
    "code/hardcoded-secret": "a hard-coded secret",
    "code/shell-injection": "shell command injection",
    "code/sql-injection": "SQL built from strings",
    "code/unsafe-deserialization": "unsafe deserialisation",
    "code/code-injection": "evaluation of dynamic code",
    "code/weak-crypto": "weak cryptography",
    "code/tls-disabled": "disabled TLS certificate checks",
}


@dataclass(frozen=True)
class LineRule:
    rule: str
    category: str
    pattern: re.Pattern[str]
    python: bool = False  # also applied to Python blocks (Bandit misses it)


def _r(rule: str, category: str, pattern: str, *, python: bool = False, flags: int = 0) -> LineRule:
    return LineRule(rule, category, re.compile(pattern, flags), python)


_SQL = r"(?:SELECT\s[^\n]{0,200}?\bFROM\b|INSERT\s+INTO\b|UPDATE\s+\S{1,64}\s+SET\b|DELETE\s+FROM\b)"
PASSWORDISH = re.compile(r"pass|pwd|\bpw\b|secret|credential|token", re.IGNORECASE)
_PLACEHOLDER = re.compile(
    r"^(?:<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|%\([^)]*\)s|your[\w -]*|x{3,}|\*{3,}|\.{3}|\[[^\]]*\]|\$[A-Z_]+"
    r"|example[\w-]*|placeholder|changeme-in-env|env:.*)$",
    re.IGNORECASE,
)

RULES: tuple[LineRule, ...] = (
    # --- disabled TLS checks
    _r("go-insecure-skip-verify", "code/tls-disabled", r"InsecureSkipVerify\s*:\s*true"),
    _r("node-reject-unauthorized", "code/tls-disabled", r"rejectUnauthorized['\"]?\s*:\s*false"),
    _r("node-tls-env", "code/tls-disabled", r"NODE_TLS_REJECT_UNAUTHORIZED['\"]?\]?\s*=\s*['\"]?0", python=True),
    _r("verify-false", "code/tls-disabled", r"\bverify\s*=\s*False\b", python=True),
    _r("ssl-cert-none", "code/tls-disabled", r"\bCERT_NONE\b|\bcheck_hostname\s*=\s*False\b", python=True),
    _r("curl-insecure", "code/tls-disabled", r"\bcurl\b[^\n|;]{0,300}\s(?:-k|--insecure)\b"),
    _r("curl-opt-no-verify", "code/tls-disabled", r"CURLOPT_SSL_VERIFY(?:PEER|HOST)\s*,\s*(?:false|0)\b"),
    _r("ssl-verify-none", "code/tls-disabled", r"\bVERIFY_NONE\b|\bstrictSSL\s*:\s*false|ssl_verify\s*[=:]\s*false"),
    _r("trust-all-certificates", "code/tls-disabled",
       r"\bTrustAll\w*|\bNoopHostnameVerifier\b|ALLOW_ALL_HOSTNAME_VERIFIER|setHostnameVerifier\([^)]{0,200}->\s*true"
       r"|CertificateValidationCallback\s*=[^;]{0,200}=>\s*true"
       r"|ServerCertificateCustomValidationCallback\s*=[^;]{0,200}true"),
    # --- shell injection
    _r("os-system", "code/shell-injection", r"\bos\.system\s*\("),
    _r("shell-true", "code/shell-injection", r"\bshell\s*=\s*True\b"),
    _r("node-exec-dynamic", "code/shell-injection",
       r"\bexec(?:Sync)?\s*\(\s*(?:`[^`]{0,200}\$\{|['\"][^'\"]{0,200}['\"]\s*\+|\w{1,64}\s*\+)"),
    _r("java-runtime-exec-dynamic", "code/shell-injection",
       r"getRuntime\(\)\s*\.exec\(\s*(?:\"[^\"]{0,200}\"\s*\+|\w{1,64}\s*\+)"),
    _r("php-shell-input", "code/shell-injection",
       r"\b(?:shell_exec|system|passthru|exec|popen|proc_open)\s*\([^)]{0,200}\$_(?:GET|POST|REQUEST|COOKIE)"),
    _r("go-sh-c-dynamic", "code/shell-injection",
       r"exec\.Command\(\s*\"(?:ba|z)?sh\"\s*,\s*\"-c\"\s*,\s*[^)\n]{0,200}(?:\+|Sprintf)"),
    _r("ruby-shell-interpolation", "code/shell-injection",
       r"\b(?:system|exec|spawn)\s*\(?\s*\"[^\"\n]{0,200}#\{|%x\{[^}\n]{0,200}#\{|`[^`\n]{0,200}#\{"),
    _r("c-system-variable", "code/shell-injection", r"(?<![\w.])(?:system|popen)\s*\(\s*[A-Za-z_][\w\[\]]*\s*[,)]"),
    _r("shell-eval-variable", "code/shell-injection", r"^\s*eval\s+[\"']?\$"),
    # --- SQL built from strings
    _r("sql-concatenation", "code/sql-injection",
       rf"\"\s*{_SQL}[^\"\n]{{0,300}}\"\s*(?:\+|\.\s*\$|\.\s+|%\s*[\w(])"
       rf"|'\s*{_SQL}[^'\n]{{0,300}}'\s*(?:\+|\.\s*\$|\.\s+|%\s*[\w(])",
       python=True, flags=re.IGNORECASE),
    _r("sql-interpolation", "code/sql-injection",
       rf"\bf[\"']\s*{_SQL}[^\"'\n]{{0,300}}\{{|`\s*{_SQL}[^`]{{0,300}}\$\{{|\$@?\"\s*{_SQL}[^\"\n]{{0,300}}\{{"
       rf"|\"\s*{_SQL}[^\"\n]{{0,300}}(?:#\{{|\$[a-z_])",
       python=True, flags=re.IGNORECASE),
    _r("sql-format", "code/sql-injection",
       rf"(?:Sprintf|sprintf|String\.format|format)\s*\(\s*\"\s*{_SQL}[^\"\n]{{0,300}}%[sdv]"
       rf"|[\"']\s*{_SQL}[^\"'\n]{{0,300}}\{{\w{{0,64}}\}}[\"']\s*\.format\(",
       python=True, flags=re.IGNORECASE),
    # --- unsafe deserialisation
    _r("pickle-load", "code/unsafe-deserialization",
       r"\b(?:c?[Pp]ickle|dill|marshal|jsonpickle)\.(?:loads?|decode)\s*\(",
       python=True),
    _r("yaml-unsafe-load", "code/unsafe-deserialization",
       r"\byaml\.(?:unsafe_load|load)\s*\((?![^)\n]{0,200}Safe)(?![^)\n]{0,200}\bLoader\s*=\s*yaml\.BaseLoader)",
       python=True),
    _r("java-object-input-stream", "code/unsafe-deserialization", r"\bnew\s+ObjectInputStream\s*\(|\bXMLDecoder\b"),
    _r("php-unserialize", "code/unsafe-deserialization", r"\bunserialize\s*\("),
    _r("dotnet-unsafe-formatter", "code/unsafe-deserialization",
       r"\b(?:BinaryFormatter|NetDataContractSerializer|LosFormatter|SoapFormatter)\b"
       r"|TypeNameHandling\s*=\s*TypeNameHandling\.(?:All|Auto|Objects)"),
    _r("ruby-marshal-load", "code/unsafe-deserialization", r"\bMarshal\.load\b"),
    _r("node-serialize", "code/unsafe-deserialization", r"\bnode-serialize\b|\bserialize\.unserialize\s*\("),
    # --- evaluation of dynamic code
    _r("eval-dynamic", "code/code-injection", r"(?<![\w.$])eval\s*\(\s*(?![\"'`\d\s)])"),
    _r("js-new-function", "code/code-injection", r"\bnew\s+Function\s*\("),
    _r("php-assert-create-function", "code/code-injection", r"\bcreate_function\s*\(|\bassert\s*\(\s*\$_"),
    # --- weak cryptography (weak hashes only next to a password: see PASSWORDISH)
    _r("weak-hash-for-password", "code/weak-crypto",
       r"\b(?:md5|sha1|MD5|SHA1|Md5|Sha1)\b|MessageDigest\.getInstance\(\s*\"(?:MD5|SHA-?1)\"", python=True),
    _r("weak-cipher", "code/weak-crypto",
       r"Cipher\.getInstance\(\s*\"(?:DES|DESede|RC4|RC2|Blowfish|AES\")|/ECB/|\bMODE_ECB\b|CipherMode\.ECB\b"
       r"|\b(?:DES|DES3|ARC4|ARC2|Blowfish)\.new\s*\(|createCipheriv\(\s*['\"](?:des|rc4|rc2|bf|aes-\d+-ecb)"
       r"|\b(?:DES|TripleDES|RC2)CryptoServiceProvider\b|\b(?:des|rc4)\.NewCipher\s*\(|\bEVP_(?:des_|rc4|aes_\d+_ecb)"
       r"|openssl_encrypt\([^)]{0,200}['\"](?:des|rc4|[a-z0-9-]{0,32}-ecb)", python=True),
)

# key = "value" with a secret-looking name; only for non-Python (Bandit's B105-B107 cover Python).
_ASSIGNED_SECRET = re.compile(
    r"(?i)(?:password|passwd|pwd|secret|api_?key|apikey|access_?token|auth_?token|private_?key)\w{0,32}"
    r"[\"']?\s*(?::=|=|:|=>)\s*[@$]?[\"']([^\"'\n]{6,200})[\"']"
)


@dataclass(frozen=True)
class LineFinding:
    category: str
    rule: str
    line: int  # 1-based, within its block


MAX_LINE = 2_000  # longer lines (minified code, data) are checked on their first 2,000 characters


def scan_lines(code: str, *, python: bool) -> list[LineFinding]:
    findings: list[LineFinding] = []
    for number, full_line in enumerate(code.splitlines(), start=1):
        line = full_line[:MAX_LINE]
        for rule in RULES:
            if python and not rule.python:
                continue
            if rule.pattern.search(line) is None:
                continue
            if rule.rule == "weak-hash-for-password" and not PASSWORDISH.search(line):
                continue
            findings.append(LineFinding(rule.category, rule.rule, number))
        if not python:
            match = _ASSIGNED_SECRET.search(line)
            if match and not _PLACEHOLDER.match(match.group(1).strip()):
                findings.append(LineFinding("code/hardcoded-secret", "assigned-secret", number))
    return findings
