"""The store contract on SQLite, the embedded default: one file per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from lethe.ops.settings import Settings
from tests.contract.store_contract import StoreContract


class TestSQLiteStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _database_file(self, tmp_path: Path) -> None:
        self.database = tmp_path / "lethe.db"

    def make_settings(self) -> Settings:
        return Settings.from_env(
            {"LETHE_STORE": "sqlite", "LETHE_SQLITE_PATH": str(self.database)}
        )
