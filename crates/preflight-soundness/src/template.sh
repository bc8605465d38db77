# Builds the sandbox template. Runs once, inside the sandbox's own layout (so every path and
# git remote is the one the commands will see), as alice, without network.
set -euo pipefail
umask 022
export GIT_AUTHOR_NAME="Alice Example" GIT_AUTHOR_EMAIL="alice@example.com"
export GIT_COMMITTER_NAME="Alice Example" GIT_COMMITTER_EMAIL="alice@example.com"
stamp() { export GIT_AUTHOR_DATE="2025-01-0$1T10:00:00Z" GIT_COMMITTER_DATE="2025-01-0$1T10:00:00Z"; }

# --- /home/alice -------------------------------------------------------------------------
cd /home/alice
cat > .bashrc <<'EOF'
# ~/.bashrc
export EDITOR=vim
alias ll='ls -l'
EOF
cat > .profile <<'EOF'
# ~/.profile
[ -f ~/.bashrc ] && . ~/.bashrc
PATH="$HOME/.local/bin:$PATH"
EOF
mkdir -p .aws .ssh .kube .config/gcloud .gnupg .local/bin Documents projects/site projects/api/src Downloads
cat > .aws/credentials <<'EOF'
[default]
aws_access_key_id = AKIAEXAMPLEDEFAULT00
aws_secret_access_key = exampleSecretKeyDefault0000000000000000
[prod]
aws_access_key_id = AKIAEXAMPLEPROD00000
aws_secret_access_key = exampleSecretKeyProd000000000000000000000
EOF
cat > .aws/config <<'EOF'
[default]
region = eu-west-1
[profile prod]
region = eu-west-1
[profile staging]
region = eu-west-1
EOF
cat > .ssh/id_rsa <<'EOF'
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBleGFtcGxlLWtleS1ub3QtYS1yZWFsLWtleS0wMDAwMAAAAJgAAAAAAAAA
-----END OPENSSH PRIVATE KEY-----
EOF
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUta2V5LW5vdC1hLXJlYWwta2V5 alice@laptop" > .ssh/id_rsa.pub
cp .ssh/id_rsa.pub .ssh/authorized_keys
echo "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" > .ssh/known_hosts
chmod 700 .ssh && chmod 600 .ssh/id_rsa
cat > .kube/config <<'EOF'
apiVersion: v1
kind: Config
current-context: staging-cluster
clusters:
- name: prod-cluster
  cluster: {server: "https://k8s.prod.example:6443"}
- name: staging-cluster
  cluster: {server: "https://k8s.staging.example:6443"}
contexts:
- name: prod-cluster
  context: {cluster: prod-cluster, user: alice}
- name: staging-cluster
  context: {cluster: staging-cluster, user: alice}
users:
- name: alice
  user: {token: example-token}
EOF
cat > .gitconfig <<'EOF'
[user]
	name = Alice Example
	email = alice@example.com
[init]
	defaultBranch = main
[core]
	checkStat = minimal
	trustctime = false
[advice]
	detachedHead = false
[gc]
	auto = 0
[maintenance]
	auto = false
EOF
echo '{"installed":{"client_id":"example"}}' > .config/gcloud/credentials.db
echo "example secret keyring" > .gnupg/secring.gpg
chmod 700 .gnupg
printf 'Meeting notes\n- ship the release\n' > Documents/notes.txt
printf '%%PDF-1.4 example report\n' > Documents/report.pdf
printf 'name,amount\nrent,1200\n' > Documents/budget.csv
printf '<html><body>site</body></html>\n' > projects/site/index.html
printf 'fn main() {}\n' > projects/api/src/main.rs
printf 'example download\n' > Downloads/installer.sh
echo "machine api.example.com login alice password example" > .netrc
chmod 600 .netrc

# --- /srv/remote.git, the origin ---------------------------------------------------------
git init -q --bare -b main /srv/remote.git

# --- /workspace/app ----------------------------------------------------------------------
mkdir -p /workspace/app
cd /workspace/app
git init -q -b main
git remote add origin /srv/remote.git
mkdir -p src/legacy tests cmd/app
cat > .gitignore <<'EOF'
build/
node_modules/
target/
.env
*.pyc
*.log
*.tmp
EOF
printf 'fn main() {\n    println!("hello");\n}\n' > src/main.rs
printf 'pub fn add(a: i32, b: i32) -> i32 { a + b }\n' > src/lib.rs
printf '// old code\n' > src/old.rs
printf 'pub mod legacy;\n' > src/legacy/mod.rs
printf 'def test_add():\n    assert 1 + 1 == 2\n' > tests/test_main.py
printf 'package main\nfunc main() {}\n' > cmd/app/main.go
printf '# app\nAn example application.\n' > README.md
printf 'hello\n' > file.txt
printf 'old\n' > old.txt
printf 'a\n' > a.txt
printf 'b\n' > b.txt
printf '#!/bin/sh\necho script\n' > script.sh
printf 'print("script")\n' > script.py
printf 'puts "script"\n' > script.rb
printf 'SQLite format 3\n' > database.sqlite
printf '{\n  "name": "app",\n  "version": "1.0.0",\n  "scripts": {"test": "echo test", "db:push": "echo push"}\n}\n' > package.json
printf '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n' > Cargo.toml
printf 'module example.com/app\n\ngo 1.22\n' > go.mod
printf 'FROM debian:bookworm\n' > Dockerfile
printf 'resource "null_resource" "x" {}\n' > main.tf
stamp 1
git add -A
git commit -q -m "Initial commit"
git push -q origin main
printf 'pub fn sub(a: i32, b: i32) -> i32 { a - b }\n' >> src/lib.rs
stamp 2
git commit -q -am "Add sub"
git branch feature
git branch feature-branch
git branch wt-branch
git tag v1.0
git checkout -q -b feature-login
printf 'login\n' > src/login.rs
git add src/login.rs
stamp 3
git commit -q -m "Login page"
git checkout -q main
git push -q origin main feature feature-login feature-branch v1.0
printf 'pub fn mul(a: i32, b: i32) -> i32 { a * b }\n' >> src/lib.rs
stamp 4
git commit -q -am "Add mul"
git push -q origin main
# A stash entry, then uncommitted changes.
printf '// stashed\n' >> src/old.rs
git stash -q
printf '    // work in progress\n' >> src/main.rs
printf 'changed\n' >> file.txt
printf 'new\n' > notes.tmp
printf 'staged\n' > staged.txt
git add staged.txt
# A linked worktree in /tmp.
git worktree add -q /tmp/wt wt-branch
# Ignored trees and secrets.
mkdir -p build/artifacts node_modules/lodash node_modules/.bin target/debug
printf 'binary\n' > build/app
printf 'artifact\n' > build/artifacts/app.tar
printf 'module.exports = {};\n' > node_modules/lodash/index.js
printf '{"name":"lodash"}\n' > node_modules/lodash/package.json
ln -s ../lodash/index.js node_modules/.bin/lodash
printf 'binary\n' > target/debug/app
printf 'DATABASE_URL=postgres://app:secret@db.prod.internal/app\nAPI_KEY=example-secret\n' > .env
printf 'compiled\n' > src/old.pyc
printf 'log line\n' > app.log

# --- /tmp and /var/tmp -------------------------------------------------------------------
mkdir -p /tmp/test-dir /tmp/build /tmp/foo /tmp/somedir /tmp/project/build/artifacts
printf 'x\n' > /tmp/test-dir/file
printf 'x\n' > /tmp/build/out.o
printf 'x\n' > /tmp/foo/bar
printf 'important\n' > /tmp/important
printf 'x\n' > /tmp/project/build/artifacts/a.bin
printf 'log\n' > /tmp/log.txt
mkdir -p /var/tmp/test-dir /var/tmp/build
printf 'x\n' > /var/tmp/test-dir/file
printf 'x\n' > /var/tmp/build/out.o

# Settle the index: written a second after the last change, so no entry is racily clean and
# `git status` in a copy has nothing to refresh.
sleep 1.1
git -C /workspace/app update-index -q --refresh || true
git -C /workspace/app status --porcelain > /dev/null
git -C /tmp/wt status --porcelain > /dev/null
