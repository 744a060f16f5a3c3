"""Reads every manifest as most Python users do (PyYAML) and validates each written status
against schemas/ with jsonschema's Draft 2020-12 validator. Prints one line per problem and
exits 1 when there is any; the count of statuses checked otherwise."""
import json
import pathlib
import sys

import jsonschema
import yaml

schemas_dir, manifests = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
schemas = {
    "SparkJob": json.loads((schemas_dir / "sparkjob.json").read_text()),
    "SparkCluster": json.loads((schemas_dir / "sparkcluster.json").read_text()),
    "SparkSchedule": json.loads((schemas_dir / "sparkschedule.json").read_text()),
}
problems, checked = [], 0
for path in sorted(manifests.rglob("*.y*ml")):
    for doc in yaml.safe_load_all(path.read_text()):
        if not isinstance(doc, dict) or doc.get("kind") not in schemas or "status" not in doc:
            continue
        schema = schemas[doc["kind"]]
        status_schema = dict(schema["properties"]["status"], **{"$defs": schema["$defs"]})
        validator = jsonschema.Draft202012Validator(status_schema)
        checked += 1
        for e in validator.iter_errors(doc["status"]):
            where = ".".join(str(p) for p in e.absolute_path)
            problems.append(f"{path.name}: status.{where}: {e.message}")
print("\n".join(problems) if problems else f"{checked} statuses valid")
sys.exit(1 if problems else 0)
