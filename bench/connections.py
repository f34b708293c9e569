#!/usr/bin/env python3
"""Adds connections straight into a running gateway's SQLite store (bench/run.sh, issue 14).

    connections.py DB FIRST COUNT TOKEN   # ids c{FIRST}..c{FIRST+COUNT-1}; c0 gets TOKEN

Every connection uses the `workspaces` mapping and workspace w1; all but c0 get a random
token. The version counter is bumped once, so each replica's poller loads them all at once.
"""
import hashlib
import json
import os
import sqlite3
import sys
import time

db, first, count, token = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
conn = sqlite3.connect(db, timeout=30)
now = int(time.time() * 1_000_000)
variables = json.dumps({"idp": "entra", "workspace_id": "w1"})
rows, creds = [], []
for n in range(first, first + count):
    cid = f"c{n}"
    rows.append((cid, f"Workspace {n}", "workspaces", 1, variables, now))
    secret = token if n == 0 else os.urandom(32).hex()
    creds.append((f"tok_{n}", cid, "bearer", hashlib.sha256(secret.encode()).hexdigest(), now))
with conn:
    conn.executemany(
        "INSERT INTO connections (id, name, mapping, enabled, variables, created) VALUES (?,?,?,?,?,?)",
        rows,
    )
    conn.executemany(
        "INSERT INTO connection_credentials (id, connection_id, kind, hash, created) VALUES (?,?,?,?,?)",
        creds,
    )
    conn.execute("UPDATE connections_version SET version = version + 1 WHERE id = 1")
print(count)
