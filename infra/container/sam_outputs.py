"""The container stack's parameters from a deployed SAM stack, so nothing of it is typed twice:

    python -m infra.container.sam_outputs --stack companion-dev \\
        --set ImageUri=<ecr image> --set LoadBalancerSubnetIds=subnet-a,subnet-b > params.json
    aws cloudformation create-stack --stack-name companion-dev-containers --capabilities CAPABILITY_IAM \\
        --template-body file://infra/container/ecs-fargate.yaml --parameters file://params.json

The SAM stack's Outputs and Parameters go over under their own names (the container template names its
parameters after them); two resources the SAM template does not output are read by logical id.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).with_name("ecs-fargate.yaml")
# Container parameter -> the SAM stack's resource (logical id) whose physical id it takes.
FROM_RESOURCES = {"LambdaSecurityGroupId": "LambdaSecurityGroup", "OpenSearchDomainName": "SearchDomain"}


def container_parameters(template: Path = TEMPLATE) -> set[str]:
    from samtranslator.yaml_helper import yaml_parse  # reads the !Ref / !Sub short forms

    return set(yaml_parse(template.read_text(encoding="utf-8"))["Parameters"])


def overrides(stack: Mapping[str, Any], physical_ids: Mapping[str, str], wanted: Iterable[str]) -> dict[str, str]:
    """``stack``: one entry of DescribeStacks' ``Stacks``; ``physical_ids``: logical id -> physical id."""
    wanted = set(wanted)
    out = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", []) if p["ParameterKey"] in wanted}
    out.update({o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", []) if o["OutputKey"] in wanted})
    out.update({param: physical_ids[logical] for param, logical in FROM_RESOURCES.items() if param in wanted})
    return out


def render(values: Mapping[str, str]) -> str:
    """CreateStack's ``--parameters`` file (JSON: LLM_CHAIN's spaces and quotes survive, unlike
    ``Key=Value`` words; a list parameter keeps its commas)."""
    return json.dumps([{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())],
                      ensure_ascii=False, indent=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True, help="the SAM stack's name (samconfig.toml stack_name)")
    parser.add_argument("--region")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a parameter of the container stack's own (ImageUri, LoadBalancerSubnetIds...)")
    args = parser.parse_args(argv)
    extra = dict(item.split("=", 1) for item in args.set)
    unknown = set(extra) - container_parameters()
    if unknown:
        parser.error(f"not parameters of {TEMPLATE.name}: {sorted(unknown)}")
    import boto3

    cfn = boto3.client("cloudformation", region_name=args.region)
    stack = cfn.describe_stacks(StackName=args.stack)["Stacks"][0]
    physical = {logical: cfn.describe_stack_resource(StackName=args.stack, LogicalResourceId=logical)
                ["StackResourceDetail"]["PhysicalResourceId"] for logical in FROM_RESOURCES.values()}
    print(render({**overrides(stack, physical, container_parameters()), **extra}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
