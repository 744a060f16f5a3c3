#!/usr/bin/env python3
"""Writes the bad-input corpus of tests/hostile_input.rs (run from the repo root).

unparseable/: files that are not YAML the operator can read; they must stay byte-identical.
invalid/: parseable documents that are not valid resources; each must get Valid=False
naming the field and the line, and keep every byte outside `status:`.
Special files (FIFOs, devices, escaping symlinks, sparse giants) are made by the test itself.
"""
import os, shutil

HEAD = "apiVersion: sparkswarm.io/v1alpha1\n"
JOB = HEAD + "kind: SparkJob\nmetadata:\n  name: {name}\nspec:\n  clusterRef: missing\n  mainApplicationFile: ../apps/app.py\n"
CLUSTER = HEAD + "kind: SparkCluster\nmetadata:\n  name: {name}\nspec:\n  provider:\n    local: {{}}\n"

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
shutil.rmtree(root, ignore_errors=True)
u = os.path.join(root, "unparseable"); i = os.path.join(root, "invalid")
os.makedirs(u); os.makedirs(i)
n = [0]

def put(d, tag, data):
    n[0] += 1
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(d, f"{n[0]:03d}-{tag}.yaml"), mode) as f:
        f.write(data)

# --- unparseable -----------------------------------------------------------------------
good = JOB.format(name="x")
for k, cut in enumerate(range(10, len(good), 9)):
    put(u, f"truncated-flow-{k}", good[:cut] + "\n  files: [a, b\n")
for k, bad in enumerate(["spec: [", "spec: {a: 1", "a: 'unterminated\n", 'a: "unterminated\n', "a: b: c\n",
                         "- a\nb: 1\n", "a:\n  - 1\n - 2\n", "\tkey: tab\n", "a: *undefined\n", "a: &x 1\nb: &x\n  c: *y\n",
                         "key: [1, 2]]\n", "{a: 1}}\n", "%YAML 1.2\n%YAML 1.2\n---\na: 1\n", "a: !<tag\n", "? [a\n",
                         "---\n- [\n---\n", "a: 1\n...\nb: [\n", "@reserved\n", "`reserved\n"]):
    put(u, f"syntax-{k}", good + bad)
for k in range(12):
    put(u, f"duplicate-key-{k}", good + ["kind: SparkJob\n", "spec: {}\n", "metadata: {}\n", "apiVersion: x\n"][k % 4] * (1 + k // 4))
for k in range(8):
    put(u, f"nul-{k}", good.encode() + b"# \x00" + bytes([k]) + b"\n")
for k, b in enumerate([b"\xff\xfe", b"caf\xe9", b"\xc3\x28", b"\xe2\x82", b"\xf0\x9f\x98", b"\x80", b"\xed\xa0\x80", b"\xc0\xaf"]):
    put(u, f"invalid-utf8-{k}", good.encode() + b"# " + b + b"\n")
for k, (size, count) in enumerate([(200_000, 20_000), (1000, 5000), (10_000, 200), (100_000, 40)]):
    put(u, f"alias-bomb-{k}", good + f"x-scalar: &s \"{'x' * size}\"\nx-uses: [{', '.join(['*s'] * count)}]\n")
laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
prev = "a"
for lvl in "bcdefgh":
    laughs += f"{lvl}: &{lvl} [{', '.join(['*' + prev] * 10)}]\n"
    prev = lvl
put(u, "billion-laughs", laughs)
for k, count in enumerate([1001, 5000, 100_000]):
    put(u, f"document-flood-{k}", "---\n" * count)
put(u, "document-flood-full", "---\na: 1\n" * 2000)
for k, depth in enumerate([129, 500, 5000]):
    put(u, f"too-deep-flow-{k}", "a: " + "[" * depth + "]" * depth + "\n")
    put(u, f"too-deep-map-{k}", "".join(" " * d + f"k{d}:\n" for d in range(min(depth, 400))) + " " * min(depth, 400) + "v\n")
put(u, "complex-key", good + "? [a, b]\n: c\n")
put(u, "complex-key-map", good + "? {a: 1}\n: c\n")
put(u, "typed-duplicate", good + "1: a\n'1': b\n")

# --- invalid ---------------------------------------------------------------------------
def job(name="bad-job", extra=""):
    return JOB.format(name=name) + extra

names = ["../../outside-evt", "/tmp/sparkswarm-hostile-evt", "..", ".", "a/b", "UPPER", "under_score", "-lead", "trail-",
         "x" * 64, "dot.ted", "spa ce", "émoji", "new\\nline", "~tilde", "semi;colon", "$(whoami)", "a" * 300]
for k, name in enumerate(names):
    quoted = '"' + name.replace('"', '\\"') + '"'
    put(i, f"bad-name-{k}", JOB.replace("name: {name}", f"name: {quoted}"))
    put(i, f"bad-cluster-name-{k}", CLUSTER.format(name="NAME").replace("name: NAME", f"name: {quoted}"))
for k, (field, value) in enumerate([
    ("executor:\n    instances", "99999999999999999999"), ("executor:\n    instances", "-1"),
    ("executor:\n    instances", "5000000000"), ("executor:\n    instances", "0x1ffffffffffffffffff"),
    ("driver:\n    cores", "340282366920938463463374607431768211456"), ("driver:\n    cores", "1e400"),
    ("activeDeadlineSeconds", "99999999999999999999999"), ("activeDeadlineSeconds", "-99999999999999999999"),
    ("restartPolicy:\n    maxRetries", "18446744073709551616"), ("restartPolicy:\n    backoffSeconds", ".inf"),
    ("executor:\n    instances", ".nan"), ("executor:\n    instances", "two"), ("driver:\n    memory", "lots"),
("executor:\n    cores", "0"), ("executor:\n    instances", "[1]"),
]):
    put(i, f"number-{k}", job(f"number-{k}", f"  {field}: {value}\n"))
for k, extra in enumerate(["  bogus: 1\n", "  mainAplicationFile: a.py\n", "  files: 3\n", "  files: [{dst: x}]\n",
                           "  files: [{src: a, dst: ../x}]\n", "  files: [{src: a, dst: /etc/x}]\n", "  arguments: {a: 1}\n",
                           "  sparkConf: [1]\n", "  restartPolicy: {type: Sometimes}\n", "  suspend: maybe\n",
                           "  env: [{name: A}]\n", "  pyFiles: a.py\n", "  driver: 1\n", "  executor: {instances: 1, bogus: 2}\n"]):
    put(i, f"field-{k}", job(f"field-{k}", extra))
for k, path in enumerate(["../../../etc/passwd", "/etc/passwd", "../apps", "../apps/missing.py", "../apps/../../x.py", "~/x.py", " "]):
    put(i, f"path-{k}", JOB.format(name=f"path-{k}").replace("../apps/app.py", f'"{path}"'))
for k, extra in enumerate(["  files: [../../etc/passwd]\n", "  files: [../apps]\n", "  pyFiles: [/etc/hosts]\n",
                           "  files: [{src: ../../etc/shadow, dst: s}]\n"]):
    put(i, f"files-{k}", job(f"files-{k}", extra))
do = CLUSTER.replace("    local: {{}}\n", "    digitalocean:\n{body}      region: nyc3\n      size: s-1vcpu-1gb\n      image: debian-12-x64\n      nodes: 1\n")
for k, body in enumerate(["      tokenFrom: {env: X, value: dop_v1_0123456789abcdef0123456789abcdef}\n",
                          "      tokenFrom: {env: dop_v1_0123456789abcdef0123456789abcdef}\n",
                          "      token: {value: dop_v1_0123456789abcdef0123456789abcdef}\n",
                          "      token: dop_v1_0123456789abcdef0123456789abcdef\n      tokenFrom: {env: X}\n",
                          "      tokenFrom: dop_v1_0123456789abcdef0123456789abcdef\n",
                          "      tokenFrom: {file: /etc/shadow}\n",
                          "      tokenFrom: {file: ../../../../root/.token}\n",
                          "      tokenFrom: {env: X}\n      sshKey: {privateKeyFile: /etc/ssh/ssh_host_ed25519_key}\n",
                          "      tokenFrom: {env: X}\n      sshKey: {privateKeyFile: ../apps}\n",
                          "      tokenFrom: {env: X}\n      apiPassword: hunter2hunter2\n"]):
    put(i, f"secret-{k}", do.format(name=f"secret-{k}", body=body))
for k, body in enumerate(["    swarm: {endpoint: 'tcp://h:2376', tls: {caFile: /etc/ssl/ca.pem, certFile: ../apps/app.py, keyFile: ../apps/app.py}}\n",
                          "    swarm: {endpoint: 'tcp://h:2376', tls: {caFile: ../apps, certFile: ../apps/app.py, keyFile: ../apps/app.py}}\n",
                          "    swarm: {endpoint: 3}\n", "    local: {}\n    swarm: {endpoint: x}\n", "    lokal: {}\n"]):
    put(i, f"provider-{k}", CLUSTER.format(name=f"provider-{k}").replace("    local: {}\n", body))
for k, doc in enumerate(["kind: SparkJob\nmetadata: {name: no-api}\nspec: {clusterRef: c, mainApplicationFile: a.py}\n",
                         HEAD + "kind: SparkJb\nmetadata: {name: typo-kind}\nspec: {}\n",
                         "apiVersion: sparkswarm.io/v2\nkind: SparkJob\nmetadata: {name: v2}\nspec: {clusterRef: c, mainApplicationFile: a.py}\n",
                         HEAD + "kind: SparkJob\nspec: {clusterRef: c, mainApplicationFile: a.py}\n",
                         HEAD + "kind: SparkJob\nmetadata: {name: no-spec}\n",
                         HEAD + "kind: [SparkJob]\nmetadata: {name: list-kind}\n",
                         HEAD + "kind: SparkJob\nmetadata: {name: 3}\nspec: {}\n",
                         HEAD + "kind: SparkJob\nmetadata: {name: {a: 1}}\nspec: {}\n"]):
    put(i, f"identity-{k}", doc)
print(n[0], "files")
