"""Reading /metrics, /healthz and /readyz over HTTP, as Prometheus and probes do."""

from __future__ import annotations

import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    """(status, body); a refused connection is (0, the reason)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


class Scrape:
    """One scrape: every sample by name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                self.samples[(s.name, frozenset(s.labels.items()))] = s.value

    @classmethod
    def of(cls, base_url: str) -> Scrape:
        status, body = get(f"{base_url}/metrics")
        assert status == 200, body
        return cls(body)

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())))

    def names(self) -> set[str]:
        return {name for name, _labels in self.samples}

    def labelled(self, name: str) -> dict[frozenset[tuple[str, str]], float]:
        return {k[1]: v for k, v in self.samples.items() if k[0] == name}
