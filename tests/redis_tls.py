"""A private redis-server with TLS (certificates from a CA made here) and an ACL user (tests)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from c360.procs import free_port

PASSWORD = "s3cret-acl-pw-7f9d"


@dataclass(frozen=True)
class SecureRedis:
    """Where the server listens and the files a client needs."""

    port: int
    ca_file: Path
    process: subprocess.Popen[bytes]

    def url(self, user: str = "c360", password: str = PASSWORD, ca: bool = True) -> str:
        query = f"?ssl_ca_certs={self.ca_file}" if ca else ""
        return f"rediss://{user}:{password}@127.0.0.1:{self.port}/0{query}"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key): a CA and a server certificate for 127.0.0.1."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("c360 test CA")).issuer_name(
        _name("c360 test CA")).public_key(ca_key.public_key()).serial_number(
        x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(
        ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(
        now + dt.timedelta(days=1)).add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, paths[2])
    return paths


def start_secure_redis(folder: Path, key_pattern: str = "c360*") -> SecureRedis:
    """redis-server with only a TLS port and one ACL user limited to `key_pattern` (the
    default user is off), as docs/security.md recommends for production."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    ca, cert, key = make_certificates(folder)
    port = free_port()
    conf = folder / "redis.conf"
    conf.write_text(
        "port 0\n"
        f"tls-port {port}\nbind 127.0.0.1\n"
        f"tls-cert-file {cert}\ntls-key-file {key}\ntls-ca-cert-file {ca}\n"
        "tls-auth-clients no\nsave \"\"\nappendonly no\n"
        f"dir {folder}\n"
        "user default off\n"
        f"user c360 on >{PASSWORD} ~{key_pattern} &* +@all -@dangerous\n"
    )
    process = subprocess.Popen([binary, str(conf)], stdout=(folder / "redis.log").open("wb"),
                               stderr=subprocess.STDOUT)
    server = SecureRedis(port, ca, process)
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(server.url(), socket_timeout=1).ping()
            return server
        except (redis.RedisError, OSError):
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError((folder / "redis.log").read_text()[-2000:]) from None
            time.sleep(0.1)
