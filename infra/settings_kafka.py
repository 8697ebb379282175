"""KafkaSecuritySection: how Kafka clients authenticate (SASL) and check the brokers (TLS)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator

from infra.kafka_config import KafkaSecurity, Mechanism, SecurityProtocol
from infra.settings_base import Section


class KafkaSecuritySection(Section):
    """C360_KAFKA_SECURITY_PROTOCOL, C360_KAFKA_SASL_* and C360_KAFKA_SSL_*: one set for
    every client of a process (Faust, confluent-kafka, the tools). Checked together at
    start-up; the password and the key password never appear in repr, errors or logs."""

    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: Mechanism | None = None
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = Field(default=SecretStr(""), repr=False, exclude=True)
    kafka_ssl_ca_file: str = ""
    kafka_ssl_cert_file: str = ""
    kafka_ssl_key_file: str = ""
    kafka_ssl_key_password: SecretStr = Field(default=SecretStr(""), repr=False, exclude=True)

    @field_validator("kafka_security_protocol", "kafka_sasl_mechanism", mode="before")
    @classmethod
    def _kafka_upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("kafka_ssl_ca_file", "kafka_ssl_cert_file", "kafka_ssl_key_file")
    @classmethod
    def _exists(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError(f"names no readable file: {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[str] = []
        sasl = self.kafka_security_protocol.startswith("SASL_")
        tls = self.kafka_security_protocol in ("SSL", "SASL_SSL")
        protocol = f"C360_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol}"
        given_sasl = [
            name
            for name, value in (
                ("C360_KAFKA_SASL_MECHANISM", self.kafka_sasl_mechanism),
                ("C360_KAFKA_SASL_USERNAME", self.kafka_sasl_username),
                ("C360_KAFKA_SASL_PASSWORD", self.kafka_sasl_password.get_secret_value()),
            )
            if value
        ]
        if sasl:
            missing = {
                "C360_KAFKA_SASL_MECHANISM",
                "C360_KAFKA_SASL_USERNAME",
                "C360_KAFKA_SASL_PASSWORD",
            } - set(given_sasl)
            problems += [f"{name} is required with {protocol}" for name in sorted(missing)]
        else:
            # A credential that would silently not be sent is a misconfiguration.
            problems += [f"{name} is set but {protocol} does not use it" for name in given_sasl]
        given_tls = [
            name
            for name, value in (
                ("C360_KAFKA_SSL_CA_FILE", self.kafka_ssl_ca_file),
                ("C360_KAFKA_SSL_CERT_FILE", self.kafka_ssl_cert_file),
                ("C360_KAFKA_SSL_KEY_FILE", self.kafka_ssl_key_file),
                ("C360_KAFKA_SSL_KEY_PASSWORD", self.kafka_ssl_key_password.get_secret_value()),
            )
            if value
        ]
        if not tls:
            problems += [f"{name} is set but {protocol} does not use TLS" for name in given_tls]
        elif bool(self.kafka_ssl_cert_file) != bool(self.kafka_ssl_key_file):
            problems.append("C360_KAFKA_SSL_CERT_FILE and C360_KAFKA_SSL_KEY_FILE go together")
        elif self.kafka_ssl_key_password.get_secret_value() and not self.kafka_ssl_key_file:
            problems.append("C360_KAFKA_SSL_KEY_PASSWORD needs C360_KAFKA_SSL_KEY_FILE")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def kafka_security(self) -> KafkaSecurity:
        """The clients' view (infra.kafka_config, streams.kafka_credentials)."""
        return KafkaSecurity(
            protocol=self.kafka_security_protocol,
            mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username,
            password=self.kafka_sasl_password.get_secret_value(),
            ca_file=self.kafka_ssl_ca_file,
            cert_file=self.kafka_ssl_cert_file,
            key_file=self.kafka_ssl_key_file,
            key_password=self.kafka_ssl_key_password.get_secret_value(),
        )
