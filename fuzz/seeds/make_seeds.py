#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the repository's data.

Run from the repository root: `python3 fuzz/seeds/make_seeds.py`. The seeds are committed;
libFuzzer's working corpus (fuzz/corpus/) is not.
"""

import glob
import hashlib
import json
import os
import re
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
ACTION_FIELDS = {"agent", "tool", "input", "reasoning", "task", "declared", "confidence", "context"}


def write(target, name, data):
    directory = os.path.join(SEEDS, target)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, name), "wb") as out:
        out.write(data)


def cases():
    files = [os.path.join(ROOT, "corpus", "actions.jsonl")]
    files += sorted(glob.glob(os.path.join(ROOT, "corpus", "peers", "*.jsonl")))
    for path in files:
        with open(path) as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


# action: every non-shell case of the corpus and one shell case in twenty, as actions.
shell = 0
for case in cases():
    if case["tool"] == "Bash":
        shell += 1
        if shell % 20 != 1:
            continue
    action = {k: v for k, v in case.items() if k in ACTION_FIELDS}
    write("action", slug(case["id"]) + ".json", json.dumps(action, indent=1))
write("action", "full.json", json.dumps({
    "agent": {"id": "infra-bot", "on_behalf_of": "alice@example.com", "session": "s1"},
    "tool": "Bash",
    "input": {"command": "ls", "n": [1, 2.5, -3e7, True, None, {"k": "v"}]},
    "reasoning": "because", "task": "fix it", "confidence": 0.75,
    "declared": {"environment": "dev",
                 "scope": {"entries": [{"operations": ["read"], "resources": ["file:///workspace/**"], "environments": ["dev"], "max_resources": 3}]},
                 "blast_radius": {"resources": 1, "unbounded": False, "reversible": True,
                                  "data_loss": False, "downtime": False}},
    "context": {"cwd": "/workspace/app", "home": "/home/alice", "env": {"A": "1"},
                "labels": {"ticket": "T-1"},
                "tool_annotations": {"readOnlyHint": True, "destructiveHint": False,
                                     "idempotentHint": True, "openWorldHint": False}},
}, indent=1))

# sql: the first byte picks the connection URL (byte % 5: P postgres, Q mysql, R sqlite,
# S mssql, T generic); the rest is the SQL.
statements = []
for case in cases():
    if case["tool"].startswith("sql"):
        statements.append(case["input"]["sql"])
    command = case["input"].get("command", "") if isinstance(case["input"], dict) else ""
    found = re.match(r'psql -c "(.*)"$', command)
    if found:
        statements.append(found.group(1))
statements += [
    "WITH gone AS (DELETE FROM sessions RETURNING id) SELECT count(*) FROM gone",
    "DELETE FROM users WHERE 1=1 OR id = id",
    "UPDATE users SET a = 1 WHERE (1 = 1) AND NOT false",
    "BEGIN; CREATE TABLE t (id int); ALTER TABLE t ADD COLUMN x int; "
    "INSERT INTO t SELECT id FROM users; DROP VIEW v; COMMIT;",
    "GRANT ALL ON users TO bob; REVOKE SELECT ON users FROM bob",
    "EXPLAIN ANALYZE DELETE FROM users",
    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = s.x",
    "SELECT a.id, count(*) FROM a JOIN b ON a.id = b.a GROUP BY a.id HAVING count(*) > 1",
    "DROP SCHEMA app CASCADE",
]
for i, sql in enumerate(statements):
    write("sql", f"pg-{i:02}-{slug(sql)[:40]}.sql", "P" + sql)
write("sql", "mysql-backticks.sql", "QDELETE FROM `users` LIMIT 10")
write("sql", "sqlite-replace.sql", "RINSERT OR REPLACE INTO t VALUES (1, 'a')")
write("sql", "mssql-top.sql", "SDELETE TOP (10) FROM [dbo].[users]")
write("sql", "generic-truncate.sql", "TTRUNCATE TABLE a, b")

# policy: the reference policy, whole, as JSON, and cut into its sections (each with the
# header), so that the fuzzer starts from small files.
with open(os.path.join(ROOT, "examples", "policies", "infra-bot.toml")) as f:
    policy = f.read()
write("policy", "infra-bot.toml", policy)
write("policy", "infra-bot.json", json.dumps(tomllib.loads(policy), indent=1))
parts = re.split(r"^# -{20,}\n", policy, flags=re.M)
header = parts[0]
for part in parts[1:]:
    title = slug(part.splitlines()[0].lstrip("# "))[:30]
    write("policy", f"section-{title}.toml", header + part)
write("policy", "small.toml", """version = 1
default = "allow"
shadow = false
unknown_environment = "deny"

[environments.prod]
db_hosts = ["db.prod.internal"]
hosts = ["api.example.com"]
path_prefixes = ["/srv/prod"]

[[rule]]
id = "a"
effect = "deny"
agents = ["bot-*"]
tools = ["Bash", "mcp__*"]
operations = ["delete", "update"]
resources = ["file:///workspace/{a,b}/**"]
except_resources = ["file:///workspace/a/tmp/*"]
environments = ["prod", "unknown"]
tags = ["secret"]
attributes = { branch = "{main,master}" }
recursive = true
forced = false
unbounded = true
opaque = false
condition = "input.amount > 10 && effect.operation == 'delete'"
reason = "no"
suggestion = "ask"
shadow = true

[[rule]]
id = "b"
effect = "allow"
limit = { max = 5, window_seconds = 60, key = "k", over = "deny" }

[[test]]
name = "t"
expect = "block"
action = { tool = "Bash", input = { command = "rm -rf /workspace/a" } }
""")
write("policy", "agents.json", json.dumps({
    "version": 1, "default_agent": "x",
    "agents": {"x": {"description": "d", "home": "/home/x", "confidence_threshold": 0.5,
                     "rules": ["r.*"]}},
    "rule": [{"id": "r.1", "effect": "escalate", "operations": ["execute"],
              "condition": "size(effect.tags) == 0 || action.tool == 'Bash'"}],
    "test": [{"name": "n", "expect": "escalate", "action": {"tool": "Bash", "input": "ls"},
              "rules": ["r.1"]}],
    "test_on_load": True,
}, indent=1))

for target in ("action", "sql", "policy"):
    names = os.listdir(os.path.join(SEEDS, target))
    print(target, len(names), "seeds")
