"""template.yaml: `sam validate --lint` passes offline, and the facts other code relies on hold.

`sam validate --lint` runs cfn-lint (with the SAM transform done locally by
aws-sam-translator); unlike plain `sam validate` it does not call IAM, so dummy
credentials and a region are all it needs. The SAM CLI comes from the `deploy`
dependency group (a default group: `uv sync` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from companion.config import Settings
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
REQUIREMENTS = ROOT / "layers" / "companion" / "requirements.txt"
# Keep in sync with the command documented in pyproject.toml's deploy group comment.
EXPORT_ARGS = ["export", "--frozen", "--no-default-groups", "--no-hashes", "--no-emit-project",
               "--no-header", "--no-annotate"]


def _sam() -> str | None:
    beside_python = Path(sys.executable).parent / "sam"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("sam")


def _run_sam_validate(template: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    sam = _sam()
    if sam is None:
        pytest.skip("the `sam` executable is absent: install it with `uv sync` (dependency group `deploy`)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAM_"))}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing",  # never used by --lint, but keeps boto3 from hunting for credentials
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "SAM_CLI_TELEMETRY": "0",
        "__SAM_CLI_APP_DIR": str(tmp_path / "sam-app-dir"),  # SAM's global config, not ~/.aws-sam
    })
    return subprocess.run(
        [sam, "validate", "--lint", "--template", str(template), "--region", "us-east-1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


# ---------------------------------------------------------------- sam validate --lint
def test_sam_validate_lint_passes(tmp_path: Path) -> None:
    proc = _run_sam_validate(TEMPLATE, tmp_path)
    assert proc.returncode == 0, f"sam validate --lint failed:\n{proc.stdout}\n{proc.stderr}"
    assert "is a valid SAM Template" in proc.stdout + proc.stderr


def test_sam_validate_lint_catches_a_broken_template(tmp_path: Path) -> None:
    """The lint really lints: a bad enum value and a dangling Ref make it fail."""
    broken = TEMPLATE.read_text(encoding="utf-8")
    broken = broken.replace("BillingMode: PAY_PER_REQUEST", "BillingMode: PAY_PER_REQUESTS", 1)
    broken = broken.replace("SourceSecurityGroupId: !Ref LambdaSecurityGroup",
                            "SourceSecurityGroupId: !Ref LambdaSecurityGroupX", 1)
    path = tmp_path / "template.yaml"
    path.write_text(broken, encoding="utf-8")
    proc = _run_sam_validate(path, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "PAY_PER_REQUESTS" in out
    assert "LambdaSecurityGroupX" in out


# ---------------------------------------------------------------- layer requirements
def test_layer_requirements_match_a_fresh_export() -> None:
    # `uv run` exports UV (its own executable); the Makefile runs uv as `python3 -m uv`
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    fresh = subprocess.run([uv, *EXPORT_ARGS], cwd=ROOT, capture_output=True, text=True, timeout=120,
                           check=True).stdout
    assert REQUIREMENTS.read_text(encoding="utf-8") == fresh, (
        "layers/companion/requirements.txt is stale; regenerate it with\n"
        f"  uv {' '.join(EXPORT_ARGS)} -o layers/companion/requirements.txt"
    )


def test_layer_build_installs_the_locked_set_minus_what_the_runtime_ships(tmp_path: Path,
                                                                         template: dict[str, Any]) -> None:
    """sam build runs layers/companion/Makefile (BuildMethod makefile): the real filter step here;
    the install step's flags are checked on a dry run (it downloads arm64 wheels)."""
    layer = ROOT / "layers" / "companion"
    subprocess.run(["make", "-s", "-C", str(layer), "layer-requirements", f"ARTIFACTS_DIR={tmp_path}"], check=True,
                   timeout=30)
    kept = (tmp_path / "requirements.layer.txt").read_text().splitlines()
    names = {line.split("==")[0].strip() for line in kept if "==" in line}
    assert not names & {"boto3", "botocore", "s3transfer"}  # in the python3.12 runtime (31 MB)
    every = {line.split("==")[0].strip() for line in REQUIREMENTS.read_text().splitlines() if "==" in line}
    assert names == every - {"boto3", "botocore", "s3transfer"}
    dry = subprocess.run(["make", "-n", "-C", str(layer), "build-CompanionLayer", f"ARTIFACTS_DIR={tmp_path}"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    for flag in ("--no-deps", "--only-binary :all:", "aarch64-manylinux", "--python-version 3.12", "cp -R companion"):
        assert flag in dry, flag
    assert template["Resources"]["CompanionLayer"]["Metadata"]["BuildMethod"] == "makefile"


def test_layer_requirements_exclude_dev_and_deploy_tools() -> None:
    names = {line.split("==")[0].strip().lower() for line in REQUIREMENTS.read_text().splitlines()
             if line and not line.startswith(("#", " "))}
    assert {"aws-lambda-powertools", "fastapi", "mangum", "redis", "opensearch-py", "pydantic"} <= names
    assert not names & {"aws-sam-cli", "cfn-lint", "moto", "pytest", "ruff", "hypothesis"}


# ---------------------------------------------------------------- template facts
@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml_parse(TEMPLATE.read_text(encoding="utf-8"))


def _props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


def _env(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return {**template["Globals"]["Function"]["Environment"]["Variables"],
            **_props(template, logical_id).get("Environment", {}).get("Variables", {})}


def test_is_a_sam_template(template: dict[str, Any]) -> None:
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    fn = template["Globals"]["Function"]
    assert fn["Runtime"] == "python3.12"
    assert fn["Tracing"] == "Active"
    assert fn["Architectures"] in (["arm64"], ["x86_64"])


def test_chat_function_streams_through_the_web_adapter(template: dict[str, Any]) -> None:
    chat = _props(template, "ChatFunction")
    assert chat["FunctionUrlConfig"]["InvokeMode"] == "RESPONSE_STREAM"
    assert chat["FunctionUrlConfig"]["AuthType"] == "NONE"
    assert chat["Handler"] == "run.sh"
    assert chat["Timeout"] >= 60
    env = _env(template, "ChatFunction")
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert env["AWS_LWA_READINESS_CHECK_PATH"] == "/health"
    port = env["AWS_LWA_PORT"]

    # the adapter layer must match the functions' architecture
    arch = template["Globals"]["Function"]["Architectures"][0]
    layer_name = {"arm64": "LambdaAdapterLayerArm64", "x86_64": "LambdaAdapterLayerX86"}[arch]
    adapter = [layer["Fn::Sub"] for layer in chat["Layers"] if isinstance(layer, dict) and "Fn::Sub" in layer]
    assert len(adapter) == 1
    assert f":753240598075:layer:{layer_name}:" in adapter[0]

    run_sh = ROOT / chat["CodeUri"] / "run.sh"
    assert os.access(run_sh, os.X_OK), "functions/chat/run.sh must be executable"
    script = run_sh.read_text()
    assert "exec python -m uvicorn app:app --host 127.0.0.1" in script
    assert "AWS_LWA_PORT" in script and port == "8000"


def test_memory_api_routes(template: dict[str, Any]) -> None:
    api = _props(template, "MemoryApiFunction")
    assert api["Handler"] == "app.handler"
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in api["Events"].values()
              if e["Type"] == "HttpApi" and e["Properties"]["ApiId"] == {"Ref": "HttpApi"}}
    assert routes == {
        ("ANY", "/api/v1/memory"),
        ("ANY", "/api/v1/memory/{proxy+}"),
        ("ANY", "/api/v1/characters"),
        ("ANY", "/api/v1/characters/{proxy+}"),
        ("ANY", "/api/v1/chat/history"),
        ("ANY", "/api/v1/chat/sessions/{proxy+}"),
    }
    assert template["Resources"]["HttpApi"]["Type"] == "AWS::Serverless::HttpApi"


def _route_regex(path: str) -> re.Pattern[str]:
    """An HTTP API route path as a regex: {proxy+} is one or more segments, {name} exactly one."""
    pattern = re.sub(r"\\\{[A-Za-z0-9_]+\\\+\\\}", ".+", re.escape(path))
    pattern = re.sub(r"\\\{[A-Za-z0-9_]+\\\}", "[^/]+", pattern)
    return re.compile(f"^{pattern}$")


def test_route_regex() -> None:
    assert _route_regex("/api/v1/memory/{proxy+}").match("/api/v1/memory/items/x")
    assert not _route_regex("/api/v1/memory/{proxy+}").match("/api/v1/memory")
    assert not _route_regex("/api/v1/characters").match("/api/v1/characters/x")


def test_every_memory_api_route_is_reachable(template: dict[str, Any]) -> None:
    """Each /api/v1 route the memory API app serves has an HTTP API route leading to it."""
    from companion.api.memory_api.app import create_app

    app = create_app()  # builds no clients until the first request
    api_paths = {r.path for r in app.routes if getattr(r, "path", "").startswith("/api/")}
    assert api_paths, "the memory API app declares no /api routes"
    events = _props(template, "MemoryApiFunction")["Events"].values()
    regexes = [_route_regex(e["Properties"]["Path"]) for e in events if e["Type"] == "HttpApi"]
    unreachable = {p for p in api_paths
                   if not any(rx.match(re.sub(r"\{[^}]+\}", "x", p)) for rx in regexes)}
    assert not unreachable, f"no HTTP API route for {sorted(unreachable)}"


def test_memory_queue_is_fifo_with_a_fifo_dlq(template: dict[str, Any]) -> None:
    queue = _props(template, "MemoryTaskQueue")
    dlq = _props(template, "MemoryTaskDLQ")
    assert queue["FifoQueue"] is True
    assert queue["ContentBasedDeduplication"] is False
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["MemoryTaskDLQ", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3
    assert dlq["FifoQueue"] is True
    worker_timeout = _props(template, "MemoryWorkerFunction")["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * worker_timeout


def test_worker_consumes_the_queue_with_partial_batch_failures(template: dict[str, Any]) -> None:
    worker = _props(template, "MemoryWorkerFunction")
    assert worker["Handler"] == "app.handler"
    (event,) = [e for e in worker["Events"].values() if e["Type"] == "SQS"]
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["MemoryTaskQueue", "Arn"]}
    assert event["Properties"]["BatchSize"] == 10
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_sweeper_runs_every_five_minutes(template: dict[str, Any]) -> None:
    sweeper = _props(template, "SessionSweeperFunction")
    (event,) = sweeper["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == "rate(5 minutes)"


EXPECTED_TABLES: dict[str, tuple[list[tuple[str, str, str]], dict[str, list[tuple[str, str, str]]]]] = {
    # logical id: (key schema [(attr, type, key type)], {gsi: key schema})
    "CharactersTable": ([("character_id", "S", "HASH")], {"owner-index": [("owner_id", "S", "HASH")]}),
    "MemoryTable": ([("pk", "S", "HASH"), ("sk", "S", "RANGE")],
                    {"user-index": [("user_id", "S", "HASH"), ("sk", "S", "RANGE")]}),
    "MessagesTable": ([("pk", "S", "HASH"), ("sk", "S", "RANGE")],
                      {"pending-index": [("pending_shard", "S", "HASH"), ("last_active_at", "N", "RANGE")]}),
    "TasksTable": ([("task_id", "S", "HASH")],
                   {"status-index": [("status", "S", "HASH"), ("updated_at", "N", "RANGE")]}),
    "IdempotencyTable": ([("id", "S", "HASH")], {}),
}
EXPECTED_TTL = {"MessagesTable": "expires_at", "TasksTable": "expires_at", "IdempotencyTable": "expiration"}


@pytest.mark.parametrize("logical_id", sorted(EXPECTED_TABLES))
def test_table_key_schemas(template: dict[str, Any], logical_id: str) -> None:
    props = _props(template, logical_id)
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}

    def shape(schema: list[dict[str, str]]) -> list[tuple[str, str, str]]:
        return [(k["AttributeName"], types[k["AttributeName"]], k["KeyType"]) for k in schema]

    keys, gsis = EXPECTED_TABLES[logical_id]
    assert shape(props["KeySchema"]) == keys
    assert {g["IndexName"]: shape(g["KeySchema"]) for g in props.get("GlobalSecondaryIndexes", [])} == gsis
    # DynamoDB rejects attribute definitions that no key uses
    used = {a for a, _, _ in keys} | {a for schema in gsis.values() for a, _, _ in schema}
    assert set(types) == used
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"]["SSEEnabled"] is True
    if logical_id in EXPECTED_TTL:
        assert props["TimeToLiveSpecification"] == {"AttributeName": EXPECTED_TTL[logical_id], "Enabled": True}


def test_prod_only_protections(template: dict[str, Any]) -> None:
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Environment"}, "prod"]}
    for logical_id in ("CharactersTable", "MemoryTable", "MessagesTable", "TasksTable"):
        props = _props(template, logical_id)
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] == {
            "Fn::If": ["IsProd", True, False]}
        assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}


def test_archive_bucket_is_private_encrypted_versioned(template: dict[str, Any]) -> None:
    bucket = _props(template, "ArchiveBucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    rules = {r.get("Prefix"): r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["conversations/"]["Transitions"]
    assert rules["exports/"]["ExpirationInDays"] > 0
    # A deleted character's avatar: the delete leaves a noncurrent version, which goes a day later.
    assert rules["avatars/"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    assert rules["avatars/"]["ExpiredObjectDeleteMarker"] is True


def test_environment_names_are_settings_fields(template: dict[str, Any]) -> None:
    """Every env var the template sets is read by Settings (or by Powertools / the adapter)."""
    fields = {name.upper() for name in Settings.model_fields}
    required = {"APP_ENV", "REDIS_URL", "OPENSEARCH_URL", "OPENSEARCH_AUTH", "CHARACTERS_TABLE", "MEMORY_TABLE",
                "MESSAGES_TABLE", "TASKS_TABLE", "IDEMPOTENCY_TABLE", "ARCHIVE_BUCKET", "MEMORY_QUEUE_URL",
                "JWT_SECRET_PARAM", "LLM_CHAIN"}
    for logical_id in ("ChatFunction", "MemoryApiFunction", "MemoryWorkerFunction", "SessionSweeperFunction"):
        env = _env(template, logical_id)
        assert required <= set(env), logical_id
        unknown = {k for k in env if k not in fields and not k.startswith(("POWERTOOLS_", "AWS_"))}
        assert not unknown, f"{logical_id}: env vars no code reads: {unknown}"
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["OPENSEARCH_AUTH"] == "sigv4"
    assert env["REDIS_URL"]["Fn::Sub"].startswith("rediss://")
    assert env["MEMORY_QUEUE_URL"] == {"Ref": "MemoryTaskQueue"}
    for name, logical_id in [("CHARACTERS_TABLE", "CharactersTable"), ("MEMORY_TABLE", "MemoryTable"),
                             ("MESSAGES_TABLE", "MessagesTable"), ("TASKS_TABLE", "TasksTable"),
                             ("IDEMPOTENCY_TABLE", "IdempotencyTable"), ("ARCHIVE_BUCKET", "ArchiveBucket")]:
        assert env[name] == {"Ref": logical_id}


def _policy_tables(template: dict[str, Any], logical_id: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for policy in _props(template, logical_id).get("Policies", []):
        if isinstance(policy, dict):
            for name, args in policy.items():
                if name.startswith("DynamoDB"):
                    out.setdefault(name, set()).add(args["TableName"]["Ref"])
    return out


def test_least_privilege_table_access(template: dict[str, Any]) -> None:
    chat = _policy_tables(template, "ChatFunction")
    assert "CharactersTable" in chat["DynamoDBReadPolicy"]
    assert "CharactersTable" not in chat.get("DynamoDBCrudPolicy", set())  # chat never edits characters
    assert "MemoryTable" not in chat.get("DynamoDBCrudPolicy", set())  # only the worker/API write memories
    sweeper = _policy_tables(template, "SessionSweeperFunction")
    assert sweeper["DynamoDBCrudPolicy"] == {"MessagesTable", "TasksTable"}
    assert "DynamoDBReadPolicy" not in sweeper

    def templates(logical_id: str) -> set[str]:
        return {name for p in _props(template, logical_id)["Policies"] if isinstance(p, dict) for name in p}

    for fn in ("ChatFunction", "SessionSweeperFunction", "MemoryApiFunction"):
        assert "SQSSendMessagePolicy" in templates(fn), fn
    assert "SQSSendMessagePolicy" not in templates("MemoryWorkerFunction")
    for fn in ("MemoryWorkerFunction", "MemoryApiFunction"):
        assert "S3CrudPolicy" in templates(fn), fn
    assert "S3CrudPolicy" not in templates("ChatFunction")


def test_transformed_chat_function(template: dict[str, Any]) -> None:
    """The SAM transform itself: globals merged, streaming Function URL resource emitted."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    copy = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    for res in copy["Resources"].values():  # local paths are only legal after `sam package`
        for key in ("CodeUri", "ContentUri"):
            if key in res.get("Properties", {}):
                res["Properties"][key] = "s3://bucket/key"
    out = transform(copy, {}, NoManagedPolicies())["Resources"]
    assert out["ChatFunctionUrl"]["Type"] == "AWS::Lambda::Url"
    assert out["ChatFunctionUrl"]["Properties"]["InvokeMode"] == "RESPONSE_STREAM"
    fn = out["ChatFunction"]["Properties"]
    assert fn["Environment"]["Variables"]["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert fn["Environment"]["Variables"]["CHARACTERS_TABLE"] == {"Ref": "CharactersTable"}
    assert len(fn["Layers"]) == 2  # the shared layer + the web adapter
    assert fn["TracingConfig"] == {"Mode": "Active"}
    mapping = out["MemoryWorkerFunctionMemoryTasks"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


# ---------------------------------------------------------------- VPC endpoints
GATEWAY_ENDPOINTS = {"S3GatewayEndpoint": "s3", "DynamoDbGatewayEndpoint": "dynamodb"}
INTERFACE_ENDPOINTS = {"SqsInterfaceEndpoint": "sqs", "SecretsManagerInterfaceEndpoint": "secretsmanager",
                       "SsmInterfaceEndpoint": "ssm", "XRayInterfaceEndpoint": "xray",
                       "BedrockRuntimeInterfaceEndpoint": "bedrock-runtime"}


def _evaluate(node: Any, template: dict[str, Any], params: dict[str, Any]) -> Any:
    """A condition expression's value: the intrinsics Conditions may use, parameters as deployed
    (a CommaDelimitedList as a list, so its default "" is [""])."""
    if isinstance(node, dict):
        ((fn, args),) = node.items()
        if fn == "Ref":
            return params[args]
        if fn == "Condition":
            return _evaluate(template["Conditions"][args], template, params)
        if fn == "Fn::Join":
            return args[0].join(_evaluate(args[1], template, params))
        values = [_evaluate(a, template, params) for a in args]
        if fn == "Fn::Equals":
            return values[0] == values[1]
        if fn == "Fn::Not":
            return not values[0]
        if fn == "Fn::And":
            return all(values)
        if fn == "Fn::Or":
            return any(values)
        raise AssertionError(f"unexpected intrinsic in a condition: {fn}")
    return node


def _created(template: dict[str, Any], **overrides: Any) -> set[str]:
    """Logical ids of the VPC endpoints and endpoint security group a deploy with these parameters creates."""
    params: dict[str, Any] = {}
    for name, spec in template["Parameters"].items():
        default = spec.get("Default")
        params[name] = str(default).split(",") if spec["Type"] == "CommaDelimitedList" else default
    params.update(overrides)
    return {logical_id for logical_id, res in template["Resources"].items()
            if res["Type"] == "AWS::EC2::VPCEndpoint" or logical_id == "EndpointSecurityGroup"
            if "Condition" not in res or _evaluate(template["Conditions"][res["Condition"]], template, params)}


def test_endpoint_parameters_default_to_none(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    tables = params["PrivateRouteTableIds"]
    assert tables["Type"] == "CommaDelimitedList"
    assert tables["Default"] == ""
    interface = params["CreateInterfaceEndpoints"]
    assert interface["Type"] == "String"
    assert interface["AllowedValues"] == ["true", "false"]
    assert interface["Default"] == "false"
    assert "NAT" in interface["Description"]  # model APIs on the internet still need one
    assert template["Conditions"]["HasPrivateRouteTables"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "PrivateRouteTableIds"}]}, ""]}]}
    assert template["Conditions"]["InterfaceEndpointsEnabled"] == {
        "Fn::Equals": [{"Ref": "CreateInterfaceEndpoints"}, "true"]}
    assert template["Conditions"]["BedrockInterfaceEndpointEnabled"] == {
        "Fn::And": [{"Condition": "InterfaceEndpointsEnabled"}, {"Condition": "BedrockEnabled"}]}


@pytest.mark.parametrize(("overrides", "expected"), [
    ({}, set()),
    ({"PrivateRouteTableIds": ["rtb-1", "rtb-2"]}, set(GATEWAY_ENDPOINTS)),
    ({"EnableBedrock": "true"}, set()),
    ({"CreateInterfaceEndpoints": "true"},
     set(INTERFACE_ENDPOINTS) - {"BedrockRuntimeInterfaceEndpoint"} | {"EndpointSecurityGroup"}),
    ({"CreateInterfaceEndpoints": "true", "EnableBedrock": "true"},
     set(INTERFACE_ENDPOINTS) | {"EndpointSecurityGroup"}),
    ({"PrivateRouteTableIds": ["rtb-1"], "CreateInterfaceEndpoints": "true", "EnableBedrock": "true"},
     set(GATEWAY_ENDPOINTS) | set(INTERFACE_ENDPOINTS) | {"EndpointSecurityGroup"}),
])
def test_which_endpoints_a_deploy_creates(template: dict[str, Any], overrides: dict[str, Any],
                                          expected: set[str]) -> None:
    assert _created(template, **overrides) == expected


def test_condition_evaluator_can_fail(template: dict[str, Any]) -> None:
    broken = {**template, "Conditions": {**template["Conditions"],
                                         "HasPrivateRouteTables": {"Fn::Not": [{"Fn::Equals": [
                                             {"Ref": "PrivateRouteTableIds"}, ""]}]}}}
    # the naive test for an empty list: [""] != "" so the default would create the gateway endpoints
    assert _created(broken) == set(GATEWAY_ENDPOINTS)


def test_gateway_endpoints(template: dict[str, Any]) -> None:
    for logical_id, service in GATEWAY_ENDPOINTS.items():
        res = template["Resources"][logical_id]
        assert res["Type"] == "AWS::EC2::VPCEndpoint"
        assert res["Condition"] == "HasPrivateRouteTables", logical_id
        props = res["Properties"]
        assert props["VpcEndpointType"] == "Gateway"
        assert props["ServiceName"] == {"Fn::Sub": f"com.amazonaws.${{AWS::Region}}.{service}"}
        assert props["VpcId"] == {"Ref": "VpcId"}
        assert props["RouteTableIds"] == {"Ref": "PrivateRouteTableIds"}
        assert not {"SubnetIds", "SecurityGroupIds", "PrivateDnsEnabled"} & set(props), logical_id


def test_interface_endpoints(template: dict[str, Any]) -> None:
    endpoints = {k for k, r in template["Resources"].items() if r["Type"] == "AWS::EC2::VPCEndpoint"}
    assert endpoints == set(GATEWAY_ENDPOINTS) | set(INTERFACE_ENDPOINTS)
    for logical_id, service in INTERFACE_ENDPOINTS.items():
        res = template["Resources"][logical_id]
        expected_condition = ("BedrockInterfaceEndpointEnabled" if service == "bedrock-runtime"
                              else "InterfaceEndpointsEnabled")
        assert res["Condition"] == expected_condition, logical_id
        props = res["Properties"]
        assert props["VpcEndpointType"] == "Interface"
        assert props["ServiceName"] == {"Fn::Sub": f"com.amazonaws.${{AWS::Region}}.{service}"}
        assert props["VpcId"] == {"Ref": "VpcId"}
        assert props["PrivateDnsEnabled"] is True
        assert props["SubnetIds"] == {"Ref": "PrivateSubnetIds"}
        assert props["SecurityGroupIds"] == [{"Ref": "EndpointSecurityGroup"}]
        assert "RouteTableIds" not in props


def test_endpoint_security_group_admits_https_from_the_functions_only(template: dict[str, Any]) -> None:
    res = template["Resources"]["EndpointSecurityGroup"]
    assert res["Type"] == "AWS::EC2::SecurityGroup"
    assert res["Condition"] == "InterfaceEndpointsEnabled"
    assert res["Properties"]["VpcId"] == {"Ref": "VpcId"}
    (rule,) = res["Properties"]["SecurityGroupIngress"]
    assert {k: v for k, v in rule.items() if k != "Description"} == {
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "SourceSecurityGroupId": {"Ref": "LambdaSecurityGroup"}}
    # no separate ingress resources open it further
    extra = [r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"
             and r["Properties"].get("GroupId") in ({"Ref": "EndpointSecurityGroup"},
                                                    {"Fn::GetAtt": ["EndpointSecurityGroup", "GroupId"]})]
    assert not extra
    # the functions live in LambdaSecurityGroup, the group the rule admits
    assert template["Globals"]["Function"]["VpcConfig"]["SecurityGroupIds"] == [{"Ref": "LambdaSecurityGroup"}]


# ---------------------------------------------------------------- samconfig.toml
def test_samconfig_environments() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    for env in ("dev", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["stack_name"] == f"companion-{env}"
        assert deploy["resolve_s3"] is True
        assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
        assert f"Environment={env}" in deploy["parameter_overrides"]
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    assert config["default"]["validate"]["parameters"]["lint"] is True


# ---------------------------------------------------------------- references
_SUB_VAR = re.compile(r"\$\{(?!!)([A-Za-z0-9:]+)(?:\.[A-Za-z0-9.]+)?\}")


def _references(node: Any) -> Iterator[str]:
    """Every logical id / parameter a Ref, GetAtt or Sub names, anywhere in the template."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield value[0] if isinstance(value, list) else value.split(".", 1)[0]
            elif key == "Fn::Sub":
                text, local = (value, {}) if isinstance(value, str) else (value[0], value[1])
                yield from (v for v in _SUB_VAR.findall(text) if v not in local)
                yield from _references(local)
                continue
            yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def test_every_reference_resolves(template: dict[str, Any]) -> None:
    """cfn-lint 1.58 does not check Refs inside env vars whose names contain "_" (all of ours),
    so check every Ref / GetAtt / Sub variable here."""
    resources = template["Resources"]
    known = set(template["Parameters"]) | set(resources)
    for logical_id, res in resources.items():  # resources the SAM transform generates
        if res["Type"] == "AWS::Serverless::Function":
            known |= {f"{logical_id}Role", f"{logical_id}Url"}
    dangling = {ref for ref in _references({k: v for k, v in template.items() if k != "Parameters"})
                if ref not in known and not ref.startswith("AWS::")}
    assert not dangling, f"references to nothing: {sorted(dangling)}"


def test_reference_check_can_fail(template: dict[str, Any]) -> None:
    broken = {"Globals": {"Function": {"Environment": {"Variables": {"X_Y": {"Ref": "Nope"}}}}},
              "Resources": {"A": {"Properties": {"B": {"Fn::Sub": "${Gone.Arn}/${AWS::Region}/${!Literal}"}}}}}
    assert set(_references(broken)) == {"Nope", "Gone", "AWS::Region"}
