"""``nnexp.errors.mask_url``: a database URL is masked by SQLAlchemy (``make_url(...)
.render_as_string(hide_password=True)``), other URLs keep today's masking, and no part of a
password is ever left in the text."""

from __future__ import annotations

import pytest

from nnexp.errors import mask_url


@pytest.mark.parametrize("url, masked", [
    ("postgresql://u:pa/ss@h/db", "postgresql://u:***@h/db"),  # '/' in the password
    ("postgresql://u:p%40w@h:5432/db", "postgresql://u:***@h:5432/db"),  # escaped '@'
    ("postgresql+psycopg://u:pw@[::1]:5432/db", "postgresql+psycopg://u:***@[::1]:5432/db"),
    ("mysql+pymysql://u:pw@h/db?charset=utf8", "mysql+pymysql://u:***@h/db?charset=utf8"),
    ("postgresql://u:@h/db", "postgresql://u:***@h/db"),
    ("https://user:pw@host:5000/api?x=1", "https://user:***@host:5000/api?x=1"),
    ("http://u:p@ss@host/x", "http://u:***@host/x"),
    ("http://host:5000/a@b", "http://host:5000/a@b"),
    ("file:///tmp/mlruns", "file:///tmp/mlruns"),
    ("mlruns/optuna.journal", "mlruns/optuna.journal"),
    ("databricks://profile:prefix", "databricks://profile:prefix"),
])
def test_mask_url(url, masked):
    assert mask_url(url) == masked


@pytest.mark.parametrize("url", [
    "postgresql://u:s3cr3t/x@h/db", "postgresql://u:s3cr3t@x@h/db?a=1",
    "postgresql+psycopg://u:s3cr3t@h/db?host=/var/run/postgresql", "mysql://u:s3cr3t@h/db",
    "https://u:s3cr3t@h/x", "oracle+oracledb://u:s3cr3t@h:1521/?service_name=x"])
def test_no_part_of_the_password_is_left(url):
    masked = mask_url(url)
    assert "s3cr3t" not in masked and "***" in masked
