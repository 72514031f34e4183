"""infra/container/ecs-fargate.yaml: cfn-lint passes, and it stays the SAM stack's twin where it must -
the same environment (so the same Settings), the same permissions per app, timings that let open
streams finish - with the values it takes from the SAM stack named as that stack's outputs.
cfn-lint is the one aws-sam-cli brings (the `deploy` dependency group)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from companion.config import Settings
from samtranslator.yaml_helper import yaml_parse

from infra.container import dockerfile, sam_outputs
from infra.container.entrypoint import Options

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = ROOT / "infra" / "container" / "ecs-fargate.yaml"
SAM = ROOT / "template.yaml"
FARGATE_MAX_STOP_TIMEOUT_S = 120  # ECS ContainerDefinition stopTimeout, Fargate
# Read by the entrypoint (Options.from_env), not by Settings.
ENTRYPOINT_ENV = {"APP_ROLE", "PORT", "GRACEFUL_SHUTDOWN_S", "KEEP_ALIVE_S"}
LAMBDA_ONLY_ENV = {"AWS_LAMBDA_EXEC_WRAPPER"}  # and AWS_LWA_* (the web adapter's)
# The container's own parameters; every other one comes from the SAM stack (sam_outputs.py).
OWN_PARAMETERS = {"ImageUri", "LoadBalancerSubnetIds", "LoadBalancerScheme", "AllowedCidr", "CertificateArn",
                  "ChatCpu", "ChatMemory", "ChatMinTasks", "ChatMaxTasks", "MemoryApiCpu", "MemoryApiMemory",
                  "MemoryApiMinTasks", "MemoryApiMaxTasks", "CpuTargetPercent"}
SERVICES = {"chat": ("ChatTaskDefinition", "ChatFunction", "ChatTaskRole", "ChatTargetGroup"),
            "memory_api": ("MemoryApiTaskDefinition", "MemoryApiFunction", "MemoryApiTaskRole", "MemoryApiTargetGroup")}


@pytest.fixture(scope="module")
def ctr() -> dict[str, Any]:
    return dict(yaml_parse(CONTAINER.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return dict(yaml_parse(SAM.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def sam_roles(sam: dict[str, Any]) -> dict[str, Any]:
    """The SAM transform's output: the functions' roles with the policy templates expanded."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    copy = yaml_parse(SAM.read_text(encoding="utf-8"))
    for res in copy["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if key in res.get("Properties", {}):
                res["Properties"][key] = "s3://bucket/key"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        return dict(transform(copy, {}, NoManagedPolicies())["Resources"])


# ---------------------------------------------------------------- cfn-lint
def _cfn_lint(template: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "cfn-lint"
    if not exe.exists():
        found = shutil.which("cfn-lint")
        if found is None:
            pytest.skip("cfn-lint is absent: install it with `uv sync` (dependency group `deploy`)")
        exe = Path(found)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run([str(exe), "--regions", "us-east-1", "--", str(template)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_cfn_lint_passes() -> None:
    done = _cfn_lint(CONTAINER)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cfn_lint_catches_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = CONTAINER.read_text(encoding="utf-8")
    assert "      TargetType: ip\n" in text
    broken.write_text(text.replace("      TargetType: ip\n", "      TargetType: pod\n", 1), encoding="utf-8")
    done = _cfn_lint(broken)
    assert done.returncode != 0
    assert "pod" in done.stdout


# ---------------------------------------------------------------- helpers
def _task(ctr: dict[str, Any], logical_id: str) -> dict[str, Any]:
    (container,) = ctr["Resources"][logical_id]["Properties"]["ContainerDefinitions"]
    return dict(container)


def _env(ctr: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in _task(ctr, logical_id)["Environment"]}


def _attrs(resource: dict[str, Any], key: str) -> dict[str, str]:
    return {a["Key"]: a["Value"] for a in resource["Properties"][key]}


def _sam_env(sam: dict[str, Any], function: str) -> dict[str, Any]:
    env = dict(sam["Globals"]["Function"]["Environment"]["Variables"])
    env.update(sam["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {}))
    return {k: v for k, v in env.items() if k not in LAMBDA_ONLY_ENV and not k.startswith("AWS_LWA_")}


_VAR = re.compile(r"\$\{([^}!]+)\}")


def render(node: Any, resolve: Callable[[str], str]) -> Any:
    """A template value as text, each Ref / GetAtt / ${} spelled by ``resolve`` (pseudo parameters kept)."""
    def name(n: str) -> str:
        return "${" + n + "}" if n.startswith("AWS::") else resolve(n)

    if isinstance(node, list):
        return [render(x, resolve) for x in node]
    if not isinstance(node, dict):
        return str(node)
    ((fn, args),) = node.items()
    if fn == "Ref":
        return name(args)
    if fn == "Fn::GetAtt":
        return name(".".join(args) if isinstance(args, list) else args)
    if fn == "Fn::Sub":
        text, local = (args, {}) if isinstance(args, str) else (args[0], {k: render(v, resolve)
                                                                            for k, v in args[1].items()})
        return _VAR.sub(lambda m: local[m[1]] if m[1] in local else name(m[1]), text)
    if fn == "Fn::Join":
        return f"join({args[0]!r}, {render(args[1], resolve)})"
    if fn == "Fn::Select":
        return f"select({args[0]}, {render(args[1], resolve)})"
    if fn == "Fn::Split":
        return f"split({args[0]!r}, {render(args[1], resolve)})"
    raise AssertionError(f"unexpected intrinsic {fn}")


@pytest.fixture(scope="module")
def sam_resolve(sam: dict[str, Any]) -> Callable[[str], str]:
    """How the container template spells a value of the SAM stack: an output by its name, a parameter by
    its own, and the few it builds itself."""
    spelled = {"ArchiveBucket.Arn": "arn:${AWS::Partition}:s3:::${ArchiveBucketName}",
               "SearchDomain.Arn": "arn:${AWS::Partition}:es:${AWS::Region}:${AWS::AccountId}"
                                   ":domain/${OpenSearchDomainName}",
               # The queue URL's last segment (https://sqs.<region>.amazonaws.com/<account>/<name>).
               "MemoryTaskQueue.QueueName": "select(4, split('/', ${MemoryQueueUrl}))",
               "RedisCache.Endpoint.Port": "6379"}  # ElastiCache Serverless's primary endpoint port
    for output, spec in sam["Outputs"].items():
        value = spec["Value"]
        if isinstance(value, dict) and set(value) <= {"Ref", "Fn::GetAtt"}:
            spelled[render(value, lambda n: n)] = "${" + output + "}"

    def resolve(n: str) -> str:
        if n in sam["Parameters"]:
            return "${" + n + "}"
        assert n in spelled, f"the container template has no spelling for the SAM stack's {n}"
        return spelled[n]

    return resolve


def ctr_resolve(n: str) -> str:
    return "${" + n + "}"


def test_the_queue_name_is_the_urls_last_segment() -> None:
    assert ["https:", "", "sqs.us-east-1.amazonaws.com", "123456789012", "companion-dev-memory-tasks.fifo"][4] == \
        "companion-dev-memory-tasks.fifo"


# ---------------------------------------------------------------- environment
@pytest.mark.parametrize("role", SERVICES)
def test_environment_is_the_functions(ctr: dict[str, Any], sam: dict[str, Any], role: str,
                                      sam_resolve: Callable[[str], str]) -> None:
    task, function, _, _ = SERVICES[role]
    env, lambda_env = _env(ctr, task), _sam_env(sam, function)
    assert env["APP_ROLE"] == role
    container_only = ENTRYPOINT_ENV | {"POWERTOOLS_TRACE_DISABLED", "AWS_REGION"}
    assert set(env) - container_only == set(lambda_env), "the task's variables differ from the function's"
    differing = {k: (render(v, sam_resolve), render(env[k], ctr_resolve)) for k, v in lambda_env.items()
                 if render(v, sam_resolve) != render(env[k], ctr_resolve)}
    # No X-Ray in a service (the trace header is adopted process-wide, fine for one request at a time).
    assert differing == ({"CHAT_TRACING": ("${ChatTracing}", "false")} if role == "chat" else {})
    fields = {name.upper() for name in Settings.model_fields}
    unread = {k for k in env if k not in fields | ENTRYPOINT_ENV and not k.startswith(("POWERTOOLS_", "AWS_"))}
    assert not unread, f"variables nothing reads: {unread}"
    assert env["AWS_REGION"] == {"Ref": "AWS::Region"}
    assert Options.from_env({k: v for k, v in env.items() if k in ENTRYPOINT_ENV}).role == role


def test_the_images_defaults_are_the_chat_services(ctr: dict[str, Any]) -> None:
    image_env = dockerfile.load(ROOT / "Dockerfile").final.env()
    chat = _env(ctr, "ChatTaskDefinition")
    for name in ENTRYPOINT_ENV | {"POWERTOOLS_TRACE_DISABLED"}:
        assert image_env[name] == chat[name], name


# ---------------------------------------------------------------- draining and stopping
@pytest.mark.parametrize("role", SERVICES)
def test_open_requests_finish_before_the_task_stops(ctr: dict[str, Any], sam: dict[str, Any], role: str) -> None:
    task, function, _, target_group = SERVICES[role]
    longest_s = sam["Resources"][function]["Properties"]["Timeout"]  # the longest request the function allows
    tg = _attrs(ctr["Resources"][target_group], "TargetGroupAttributes")
    # ECS waits for the draining (deregistration) before its SIGTERM: the open requests end first.
    assert int(tg["deregistration_delay.timeout_seconds"]) > longest_s
    # After SIGTERM, uvicorn gives up on what is still open before ECS's SIGKILL.
    container = _task(ctr, task)
    grace_s = float(_env(ctr, task)["GRACEFUL_SHUTDOWN_S"])
    assert grace_s + 10 <= container["StopTimeout"] <= FARGATE_MAX_STOP_TIMEOUT_S
    # An init as PID 1 passes SIGTERM on to python.
    assert container["LinuxParameters"]["InitProcessEnabled"] is True


def test_streams_outlive_the_load_balancers_idle_timeout(ctr: dict[str, Any]) -> None:
    lb = _attrs(ctr["Resources"]["LoadBalancer"], "LoadBalancerAttributes")
    idle_s = int(lb["idle_timeout.timeout_seconds"])
    defaults = Settings()
    # The longest a stream is silent: the model's first-token wait twice over (a failover), or a stall.
    assert idle_s > max(2 * defaults.llm_first_token_timeout_s + defaults.recall_budget_ms / 1000,
                        defaults.llm_stream_idle_timeout_s)
    for task, *_ in SERVICES.values():
        assert float(_env(ctr, task)["KEEP_ALIVE_S"]) > idle_s, task  # the balancer closes idle connections first
    chat = _attrs(ctr["Resources"]["ChatTargetGroup"], "TargetGroupAttributes")
    assert chat["load_balancing.algorithm.type"] == "least_outstanding_requests"


# ---------------------------------------------------------------- health checks
def test_health_checks(ctr: dict[str, Any]) -> None:
    image = dockerfile.load(ROOT / "Dockerfile")
    (healthcheck,) = image.final.all("HEALTHCHECK")
    command = healthcheck.args.partition(" CMD ")[2]
    for task, *_, target_group in SERVICES.values():
        tg = ctr["Resources"][target_group]["Properties"]
        assert (tg["HealthCheckPath"], tg["Matcher"]["HttpCode"]) == ("/health", "200")
        assert tg["TargetType"] == "ip" and tg["Port"] == 8080
        check = _task(ctr, task)["HealthCheck"]
        assert check["Command"] == ["CMD", *yaml_parse(command)], "the task's health check is not the image's"
        assert check["StartPeriod"] >= 30


# ---------------------------------------------------------------- permissions
def _grants(statements: list[dict[str, Any]], resolve: Callable[[str], str]) -> set[tuple[str, str]]:
    out = set()
    for st in statements:
        assert st["Effect"] == "Allow"
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = render(st["Resource"], resolve)
        for action in actions:
            for resource in resources if isinstance(resources, list) else [resources]:
                out.add((action, resource))
    return out


@pytest.mark.parametrize("role", SERVICES)
def test_task_role_has_the_functions_permissions(ctr: dict[str, Any], sam_roles: dict[str, Any], role: str,
                                                 sam_resolve: Callable[[str], str]) -> None:
    _, function, task_role, _ = SERVICES[role]
    lambda_grants = _grants([st for p in sam_roles[f"{function}Role"]["Properties"]["Policies"]
                             for st in p["PolicyDocument"]["Statement"]], sam_resolve)
    task_grants = _grants([st for p in ctr["Resources"][task_role]["Properties"]["Policies"]
                           for st in p["PolicyDocument"]["Statement"]], ctr_resolve)
    assert task_grants == lambda_grants, (f"only the task: {sorted(task_grants - lambda_grants)}; "
                                          f"only the function: {sorted(lambda_grants - task_grants)}")
    trust = ctr["Resources"][task_role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "ecs-tasks.amazonaws.com"}]


def test_permission_comparison_can_fail(ctr: dict[str, Any], sam_resolve: Callable[[str], str]) -> None:
    wider = {"Effect": "Allow", "Action": "s3:DeleteObject",
             "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ArchiveBucketName}/*"}}
    narrower = {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": {"Fn::Sub": "${ArchiveBucket.Arn}/x/*"}}
    assert _grants([wider], ctr_resolve) != _grants([narrower], sam_resolve)


def test_bedrock_is_granted_as_for_the_functions(ctr: dict[str, Any], sam: dict[str, Any]) -> None:
    mine, theirs = ctr["Resources"]["BedrockInvokePolicy"], sam["Resources"]["BedrockInvokePolicy"]
    assert mine["Condition"] == theirs["Condition"] == "BedrockEnabled"
    assert ctr["Conditions"]["BedrockEnabled"] == sam["Conditions"]["BedrockEnabled"]
    assert mine["Properties"]["PolicyDocument"] == theirs["Properties"]["PolicyDocument"]
    assert mine["Properties"]["Roles"] == [{"Ref": "ChatTaskRole"}, {"Ref": "MemoryApiTaskRole"}]


# ---------------------------------------------------------------- network, routes, scaling
def test_tasks_run_beside_the_functions(ctr: dict[str, Any], sam: dict[str, Any]) -> None:
    for logical_id in ("ChatService", "MemoryApiService"):
        props = ctr["Resources"][logical_id]["Properties"]
        net = props["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert net["AssignPublicIp"] == "DISABLED"
        assert net["Subnets"] == {"Ref": "PrivateSubnetIds"}
        # The functions' group: the cache, the search domain and the endpoints admit it (template.yaml).
        assert {"Ref": "LambdaSecurityGroupId"} in net["SecurityGroups"]
        assert props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    for task, *_ in SERVICES.values():
        props = ctr["Resources"][task]["Properties"]
        assert props["RuntimePlatform"]["CpuArchitecture"] == "ARM64"  # template.yaml's functions: arm64
        assert sam["Globals"]["Function"]["Architectures"] == ["arm64"]
    ingress = ctr["Resources"]["ServiceSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert ingress == [{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                        "SourceSecurityGroupId": {"Ref": "LoadBalancerSecurityGroup"},
                        "Description": "The app port from the load balancer"}]


def _patterns_match(patterns: list[str], path: str) -> bool:
    return any(re.fullmatch(re.escape(p).replace(r"\*", ".*"), path) for p in patterns)


def test_memory_api_routes_go_to_the_memory_api(ctr: dict[str, Any], sam: dict[str, Any]) -> None:
    """The HTTP API's routes of template.yaml: the memory API's paths go to its target group, the
    /api/v1/chat/* ones (which the chat app serves too) to the chat app, like everything else."""
    rule = ctr["Resources"]["MemoryApiRule"]["Properties"]
    assert rule["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "MemoryApiTargetGroup"}}]
    (condition,) = rule["Conditions"]
    patterns = condition["PathPatternConfig"]["Values"]
    events = sam["Resources"]["MemoryApiFunction"]["Properties"]["Events"]
    for event in events.values():
        path = event["Properties"]["Path"].replace("{proxy+}", "x/y")
        assert _patterns_match(patterns, path) != path.startswith("/api/v1/chat/"), path
    from companion.api.chat_app import create_app

    chat_paths = {getattr(r, "path", "") for r in create_app().routes}
    assert {"/api/v1/chat/history", "/api/v1/chat/sessions/{character_id}/end"} <= chat_paths
    assert not _patterns_match(patterns, "/api/v1/chat/stream") and not _patterns_match(patterns, "/v1/models")


@pytest.mark.parametrize("service", ["Chat", "MemoryApi"])
def test_autoscaling_on_cpu(ctr: dict[str, Any], service: str) -> None:
    res = ctr["Resources"]
    target = res[f"{service}ScalableTarget"]["Properties"]
    assert target["ResourceId"] == {"Fn::Sub": f"service/${{Cluster}}/${{{service}Service.Name}}"}
    assert (target["MinCapacity"], target["MaxCapacity"]) == ({"Ref": f"{service}MinTasks"},
                                                               {"Ref": f"{service}MaxTasks"})
    policy = res[f"{service}CpuScaling"]["Properties"]
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert policy["ScalingTargetId"] == {"Ref": f"{service}ScalableTarget"}
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert config["TargetValue"] == {"Ref": "CpuTargetPercent"}


def test_the_worker_stays_on_lambda(ctr: dict[str, Any], sam: dict[str, Any]) -> None:
    types = {r["Type"] for r in ctr["Resources"].values()}
    assert not {t for t in types if t.startswith(("AWS::SQS::", "AWS::Lambda::", "AWS::DynamoDB::", "AWS::S3::"))}
    assert "MemoryTasks" in sam["Resources"]["MemoryWorkerFunction"]["Properties"]["Events"]


# ---------------------------------------------------------------- parameters from the SAM stack
def test_the_sam_stack_supplies_every_other_parameter(ctr: dict[str, Any], sam: dict[str, Any]) -> None:
    params = set(ctr["Parameters"])
    assert params >= OWN_PARAMETERS
    supplied = (set(sam["Outputs"]) | set(sam["Parameters"]) | set(sam_outputs.FROM_RESOURCES)) & params
    assert params - supplied == OWN_PARAMETERS
    assert set(sam_outputs.FROM_RESOURCES.values()) <= set(sam["Resources"])
    for name in set(sam["Parameters"]) & params:  # the same constraints as the SAM stack's
        mine, theirs = ctr["Parameters"][name], sam["Parameters"][name]
        for key in ("Type", "AllowedValues", "AllowedPattern", "Default"):
            assert mine.get(key) == theirs.get(key), (name, key)


def test_sam_outputs_maps_a_stack_onto_the_parameters() -> None:
    stack = {"Parameters": [{"ParameterKey": "Environment", "ParameterValue": "prod"},
                            {"ParameterKey": "LlmChain", "ParameterValue": '[{"name": "a b"}]'},
                            {"ParameterKey": "ChatTracing", "ParameterValue": "true"}],  # not a container parameter
             "Outputs": [{"OutputKey": "MemoryQueueUrl", "OutputValue": "https://sqs.x/1/q.fifo"},
                         {"OutputKey": "ChatFunctionUrl", "OutputValue": "https://f.lambda-url"}]}
    got = sam_outputs.overrides(stack, {"LambdaSecurityGroup": "sg-1", "SearchDomain": "dom"},
                                sam_outputs.container_parameters())
    assert got == {"Environment": "prod", "LlmChain": '[{"name": "a b"}]', "MemoryQueueUrl": "https://sqs.x/1/q.fifo",
                   "LambdaSecurityGroupId": "sg-1", "OpenSearchDomainName": "dom"}
    assert '"ParameterValue": "[{\\"name\\": \\"a b\\"}]"' in sam_outputs.render(got)


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_every_reference_resolves(ctr: dict[str, Any]) -> None:
    known = set(ctr["Parameters"]) | set(ctr["Resources"])
    refs = set()
    for node in _walk({k: v for k, v in ctr.items() if k != "Parameters"}):
        if isinstance(node, dict) and len(node) == 1:
            ((fn, args),) = node.items()
            if fn == "Ref":
                refs.add(args)
            elif fn == "Fn::GetAtt":
                refs.add(args[0] if isinstance(args, list) else args.split(".", 1)[0])
            elif fn == "Fn::Sub":
                text, local = (args, {}) if isinstance(args, str) else (args[0], args[1])
                refs |= {v.split(".", 1)[0] for v in _VAR.findall(text) if v not in local}
    dangling = {r for r in refs if r not in known and not r.startswith("AWS::")}
    assert not dangling, sorted(dangling)
