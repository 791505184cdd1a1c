"""template.yaml as a deployable application: every function, route and event source points at a
handler that exists and builds with make; permissions are scoped; the SAM transform succeeds;
alarms, logs and the infra/aws outputs line up with it; the sample events have AWS's shapes.

No I/O beyond reading the repo: `tests/integration/test_sam_build.py` runs `sam build` and
imports the built handlers."""

from __future__ import annotations

import ast
import base64
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform  # type: ignore[import-untyped]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

from mayachat.edge.routes import route_functions
from mayachat_local.esm.spec import read_mappings
from mayachat_local.gateway.api_spec import read_websocket_api
from mayachat_local.http_api.routes import read_http_routes
from mayachat_local.runtime.template import load_template, resources_of_type

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
EVENTS = REPO / "tests" / "events"

# What each function touches, as mayachat.bootstrap wires it (see each functions/*/app.py):
# Mongo (rooms, sequences, archives), Kafka topics written, @connections.
# Every function that uses Redis reads its user's secret (RedisSecretReadPolicy).
_REDIS = {"RedisSecretReadPolicy"}
# A connection found gone (410) may have been its user's last: every function that posts
# may announce a presence change (chat-presence), and $connect/$disconnect do.
_POSTS = {"ManageConnectionsPolicy", "KafkaWritePresencePolicy"}
EXPECTED_POLICIES = {
    "WsAuthorizerFunction": set(),
    # Rooms, devices and the pushes-sent ledger; who is online.
    "NotifyFunction": _REDIS | {"MongoSecretReadPolicy"},
    "WsConnectFunction": _REDIS | {"KafkaWritePresencePolicy"},
    "WsDisconnectFunction": _REDIS | {"KafkaWritePresencePolicy"},
    "WsSendMessageFunction": _REDIS
    | _POSTS
    | {"MongoSecretReadPolicy", "KafkaWriteChatMessagesPolicy"},
    "WsTypingFunction": _REDIS | _POSTS | {"MongoSecretReadPolicy"},
    "WsReceiptsFunction": _REDIS
    | _POSTS
    | {"MongoSecretReadPolicy", "KafkaWriteStateEventsPolicy"},
    # Changes go to chat-messages (persist applies them after their message); a message
    # Redis no longer knows, and a moderator's role, come from MongoDB.
    "WsMessageChangesFunction": _REDIS
    | _POSTS
    | {"MongoSecretReadPolicy", "KafkaWriteChatMessagesPolicy"},
    # Catch-up readers publish a room's stable seq (room.stable on chat-messages).
    "WsSyncFunction": _REDIS | _POSTS | {"MongoSecretReadPolicy", "KafkaWriteChatMessagesPolicy"},
    # Who hides their presence, and the last lastSeen, are in MongoDB.
    "WsPresenceFunction": _REDIS | _POSTS | {"MongoSecretReadPolicy"},
    # Their answer is the route response; @connections only to close a flooding or expired
    # socket (told why, then DELETEd), which every frame function may do.
    "WsPingFunction": _REDIS | _POSTS,
    "WsDefaultFunction": _REDIS | _POSTS,
    "RestApiFunction": _REDIS
    | _POSTS
    | {
        "MongoSecretReadPolicy",
        "KafkaWriteStateEventsPolicy",
        "KafkaWriteChatMessagesPolicy",
    },
    "PersistFunction": {"MongoSecretReadPolicy"},
    # Reads chat-presence (its own statement), posts to contacts' connections.
    "PresenceFunction": _REDIS | _POSTS | {"MongoSecretReadPolicy"},
    "KafkaTopicsFunction": set(),
}

# Parameters without defaults, as `sam deploy --parameter-overrides` would give them.
DEPLOY_PARAMETERS = {
    "SubnetIds": "subnet-0a1b2c3d,subnet-4e5f6a7b",
    "SecurityGroupIds": "sg-0123456789abcdef0",
    "MskClusterArn": "arn:aws:kafka:us-east-1:123456789012:cluster/mayachat-dev/0a1b2c3d-1",
    "KafkaBrokers": "boot-abcd.c1.kafka-serverless.us-east-1.amazonaws.com:9098",
    "RedisUrl": "rediss://mayachat-cache-abc.serverless.use1.cache.amazonaws.com:6379/0",
    "MongoDbSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:m/uri-AbCdEf",
    "JwtIssuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf",
    "JwtAudience": "1example23456789",
    "JwtJwksUrl": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf/.well-known/jwks.json",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of_type(template, "AWS::Serverless::Function")


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties") or {}


def test_the_expected_functions_exist(functions: dict[str, dict[str, Any]]) -> None:
    assert set(functions) == set(EXPECTED_POLICIES)


def test_every_handler_exists_and_builds_with_make(functions: dict[str, dict[str, Any]]) -> None:
    for name, fn in functions.items():
        folder = REPO / props(fn)["CodeUri"]
        module, attribute = props(fn)["Handler"].rsplit(".", 1)
        source = folder / f"{module}.py"
        assert source.is_file(), f"{name}: {source} is missing"
        tree = ast.parse(source.read_text())
        defined = {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        } | {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert attribute in defined, f"{name}: {source} defines no `{attribute}`"
        # SAM's python3.13 builder needs python3.13 on PATH; the make build does not.
        assert fn["Metadata"]["BuildMethod"] == "makefile", name
        makefile = (folder / "Makefile").read_text()
        assert re.search(rf"^build-(%|{name}):", makefile, re.M), f"{name}: no build target"


def test_layers_build_with_make_for_arm64(template: dict[str, Any]) -> None:
    layers = resources_of_type(template, "AWS::Serverless::LayerVersion")
    assert set(layers) == {"CoreLayer", "DepsLayer"}
    for name, layer in layers.items():
        assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
        assert props(layer)["CompatibleArchitectures"] == ["arm64"]
        assert props(layer)["CompatibleRuntimes"] == ["python3.13"]
        makefile = (REPO / props(layer)["ContentUri"] / "Makefile").read_text()
        assert re.search(rf"^build-{name}:", makefile, re.M)
    # The deps layer installs exactly the pins `make lock` writes.
    link = REPO / "layers" / "deps" / "requirements.txt"
    assert link.resolve() == (REPO / "requirements" / "lambda.txt").resolve()


def test_globals_arm64_python_and_powertools(template: dict[str, Any]) -> None:
    glob = template["Globals"]["Function"]
    assert (glob["Runtime"], glob["Architectures"], glob["Tracing"]) == (
        "python3.13",
        ["arm64"],
        "Active",
    )
    env = glob["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == "mayachat"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "MayaChat"
    assert env["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert env["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"  # ?token= is a bearer token
    assert env["KAFKA_SASL_MECHANISM"] == "aws_msk_iam"
    assert env["REDIS_CLUSTER"] == {"Ref": "RedisClusterMode"}
    # Values the local runtime must not pick up stay intrinsics (it keeps plain values only).
    for name in ("REDIS_URL", "REDIS_CLUSTER", "MONGODB_SECRET_ID", "JWT_JWKS_URL"):
        assert isinstance(env[name], dict), name


def test_each_function_gets_only_its_policies(functions: dict[str, dict[str, Any]]) -> None:
    for name, fn in functions.items():
        attached = {
            p["Ref"] for p in props(fn).get("Policies") or [] if isinstance(p, dict) and "Ref" in p
        }
        assert attached == EXPECTED_POLICIES[name], name


def test_manage_connections_is_scoped_to_this_api_and_stage(template: dict[str, Any]) -> None:
    (statement,) = template["Resources"]["ManageConnectionsPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert statement["Action"] == "execute-api:ManageConnections"
    assert statement["Resource"]["Fn::Sub"].endswith(
        ":${ChatWebSocketApi}/${StageName}/POST/@connections/*"
    )


def test_vpc_for_everything_but_the_authorizer(functions: dict[str, dict[str, Any]]) -> None:
    for name, fn in functions.items():
        vpc = props(fn).get("VpcConfig")
        if name == "WsAuthorizerFunction":
            assert vpc is None  # it needs only the issuer's JWKS
        else:
            assert vpc == {
                "SubnetIds": {"Ref": "SubnetIds"},
                "SecurityGroupIds": {"Ref": "SecurityGroupIds"},
            }, name


def test_msk_permissions_cover_exactly_the_mapped_topics_and_groups(
    template: dict[str, Any],
) -> None:
    for function in ("PersistFunction", "NotifyFunction"):
        mappings = [m for m in read_mappings(template).values() if m.function == function]
        (statements,) = [
            p["Statement"]
            for p in props(template["Resources"][function])["Policies"]
            if "Statement" in p
        ]
        read = next(s for s in statements if "kafka-cluster:ReadData" in s.get("Action", []))
        group = next(s for s in statements if "kafka-cluster:AlterGroup" in s.get("Action", []))
        resources = [read["Resource"]] if "Fn::Sub" in read["Resource"] else read["Resource"]
        topics = {r["Fn::Sub"][0].rsplit("/", 1)[1] for r in resources}
        resources = [group["Resource"]] if "Fn::Sub" in group["Resource"] else group["Resource"]
        groups = {r["Fn::Sub"][0].rsplit("/", 1)[1] for r in resources}
        assert topics == {m.topic for m in mappings}, function
        assert groups == {m.group_id for m in mappings}, function
    for event in props(template["Resources"]["PersistFunction"])["Events"].values():
        p = event["Properties"]
        assert p["Stream"] == {"Ref": "MskClusterArn"}
        # IAM auth uses the execution role: no SourceAccessConfigurations.
        assert "SourceAccessConfigurations" not in p
        # Retries, bisect and partial responses need provisioned mode.
        pollers = p["ProvisionedPollerConfig"]
        assert pollers["MinimumPollers"] == {"Ref": "PersistMinimumPollers"}
        assert pollers["MaximumPollers"] == {"Ref": "PersistMaximumPollers"}
        assert template["Parameters"]["PersistMinimumPollers"]["MinValue"] >= 1
        # G4: never past an unstored record. Infinite retries and no OnFailure destination
        # (with one, Lambda caps the retries at 10 and skips the batch).
        assert p["MaximumRetryAttempts"] == -1
        assert "DestinationConfig" not in p
        assert "MaximumRecordAgeInSeconds" not in p
        # The mapping's own metrics, so a stuck one shows (#14).
        assert set(p["MetricsConfig"]["Metrics"]) == {"EventCount", "ErrorCount", "KafkaMetrics"}


def test_producer_policies_name_their_topic(template: dict[str, Any]) -> None:
    for policy, topic in (
        ("KafkaWriteChatMessagesPolicy", "chat-messages"),
        ("KafkaWriteStateEventsPolicy", "message-persistence"),
    ):
        cluster, data = template["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]
        # The producer is idempotent: InitProducerId needs WriteDataIdempotently.
        assert set(cluster["Action"]) == {
            "kafka-cluster:Connect",
            "kafka-cluster:WriteDataIdempotently",
        }
        assert data["Resource"]["Fn::Sub"][0].endswith(f"/{topic}")


def test_routes_and_http_events_reach_existing_handlers() -> None:
    api = read_websocket_api(TEMPLATE)
    assert set(api.routes) == set(route_functions())  # the route table (test_routes.py)
    for spec in api.functions.values():
        assert (spec.code_uri / "app.py").is_file()
    routes = read_http_routes(TEMPLATE)
    assert {r.function for r in routes} == {"RestApiFunction"}
    assert {r.route_key for r in routes} >= {"ANY /api/{proxy+}", "GET /health"}


def test_every_function_has_alarms_and_a_log_group_with_retention(
    template: dict[str, Any], functions: dict[str, dict[str, Any]]
) -> None:
    resources = template["Resources"]
    watched = {
        (metric["MetricName"], metric["Dimensions"][0]["Value"]["Ref"])
        for metric in alarm_metrics(template)
        if metric["Namespace"] == "AWS/Lambda"
    }
    for name, fn in functions.items():
        group = resources[props(fn)["LoggingConfig"]["LogGroup"]["Ref"]]
        assert props(group)["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
        if name == "KafkaTopicsFunction":
            continue  # runs at deploy time only; CloudFormation reports its failures
        assert ("Errors", name) in watched, name
        assert ("Throttles", name) in watched, name
    assert ("OffsetLag", "PersistFunction") in watched
    # The destination is watched too: the mappings' own give-ups reach it uncounted by code.
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm").values()
    assert {"DeadLettersToSqs", "DeadLettersToKafka"} <= {a.get("Condition") for a in alarms}


def test_stage_has_throttling_and_access_logs(template: dict[str, Any]) -> None:
    stage = props(template["Resources"]["ChatWebSocketStage"])
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["AccessLogSettings"]["DestinationArn"] == {
        "Fn::GetAtt": ["WebSocketAccessLogs", "Arn"]
    }
    assert "querystring" not in stage["AccessLogSettings"]["Format"].lower()
    http = props(template["Resources"]["RestHttpApi"])
    jwt = http["Auth"]["Authorizers"]["JwtAuthorizer"]["JwtConfiguration"]
    assert jwt == {"issuer": {"Ref": "JwtIssuer"}, "audience": [{"Ref": "JwtAudience"}]}


def translate(parameters: dict[str, str]) -> dict[str, Any]:
    document = yaml_parse(TEMPLATE.read_text())
    for name, resource in document["Resources"].items():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = f"s3://artifacts/{name}.zip"  # as `sam package`

    class NoManagedPolicyNames:
        def load(self) -> dict[str, str]:
            return {}  # every policy here is an ARN or a Ref: no IAM look-up

    result: dict[str, Any] = transform(document, parameters, NoManagedPolicyNames())
    return result


def test_the_sam_transform_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    resources = translate(DEPLOY_PARAMETERS)["Resources"]
    esm = {
        name: r["Properties"]
        for name, r in resources.items()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    }
    assert set(esm) == {
        "PersistFunctionChatMessages",
        "PersistFunctionStateEvents",
        "NotifyFunctionChatMessages",
        "PresenceFunctionPresenceChanges",
    }
    assert esm["PresenceFunctionPresenceChanges"]["AmazonManagedKafkaEventSourceConfig"] == {
        "ConsumerGroupId": "mayachat-presence"
    }
    assert esm["NotifyFunctionChatMessages"]["AmazonManagedKafkaEventSourceConfig"] == {
        "ConsumerGroupId": "mayachat-notify"
    }
    assert esm["PersistFunctionChatMessages"]["AmazonManagedKafkaEventSourceConfig"] == {
        "ConsumerGroupId": "mayachat-persist"
    }
    managed = resources["PersistFunctionRole"]["Properties"]["ManagedPolicyArns"]
    assert any(str(arn).endswith("AWSLambdaMSKExecutionRole") for arn in managed)
    assert any(str(arn).endswith("AWSLambdaVPCAccessExecutionRole") for arn in managed)
    authorizer = resources["WsAuthorizerFunctionRole"]["Properties"]["ManagedPolicyArns"]
    assert not any("VPC" in str(arn) or "MSK" in str(arn) for arn in authorizer)
    fn = resources["WsSendMessageFunction"]["Properties"]
    assert fn["Architectures"] == ["arm64"]
    assert fn["LoggingConfig"] == {  # Globals' format and level, merged with its own group
        "LogFormat": "JSON",
        "ApplicationLogLevel": {
            "Fn::FindInMap": ["ApplicationLogLevels", {"Ref": "LogLevel"}, "Level"]
        },
        "LogGroup": {"Ref": "WsSendMessageLogs"},
    }
    levels = load_template(TEMPLATE)["Mappings"]["ApplicationLogLevels"]
    assert {k: v["Level"] for k, v in levels.items()} == {
        "DEBUG": "DEBUG",
        "INFO": "INFO",
        "WARNING": "WARN",
        "ERROR": "ERROR",  # Lambda's names
    }


def alarm_metrics(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every metric an alarm reads: its own, or each of its metric-math inputs."""
    metrics = []
    for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values():
        p = props(alarm)
        if "MetricName" in p:
            metrics.append(p)
        for query in p.get("Metrics", []):
            if "MetricStat" in query:
                metrics.append(query["MetricStat"]["Metric"])
    return metrics


def test_app_alarms_read_metrics_the_code_publishes_for_their_stage(
    template: dict[str, Any],
) -> None:
    """An alarm on a misspelt name, or without the stage dimension, would wait for data that
    never comes (TreatMissingData: notBreaching) and never fire."""
    from mayachat.metrics import Count, Timing

    published = {m.value for m in (*Count, *Timing)}
    ours = [m for m in alarm_metrics(template) if m["Namespace"] == "MayaChat"]
    watched = {m["MetricName"] for m in ours}
    assert watched <= published
    assert {
        "DeliveryFailed",
        "DeadLettered",
        "MessagesSent",
        "MessagesPersisted",
        "TokensRefused",
    } <= watched
    for metric in ours:
        assert metric["Dimensions"] == [
            {"Name": "service", "Value": "mayachat"},
            {"Name": "stage", "Value": {"Ref": "StageName"}},
        ], metric["MetricName"]
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "MayaChat"
    assert env["POWERTOOLS_SERVICE_NAME"] == "mayachat"
    assert env["STAGE_NAME"] == {"Ref": "StageName"}


def test_the_authorizer_alarm_leaves_refused_tokens_out(template: dict[str, Any]) -> None:
    alarm = props(template["Resources"]["WsAuthorizerErrorsAlarm"])
    inputs = {q["Id"]: q for q in alarm["Metrics"]}
    assert inputs["errors"]["MetricStat"]["Metric"]["MetricName"] == "Errors"
    assert inputs["refused"]["MetricStat"]["Metric"]["MetricName"] == "TokensRefused"
    [result] = [q for q in alarm["Metrics"] if q["ReturnData"]]
    assert result["Expression"] == "FILL(errors, 0) - FILL(refused, 0)"


def test_the_topics_resource_fails_fast_when_its_answer_cannot_get_out(
    template: dict[str, Any],
) -> None:
    topics = props(template["Resources"]["KafkaTopics"])
    function = props(template["Resources"]["KafkaTopicsFunction"])
    assert function["Timeout"] < topics["ServiceTimeout"] <= 600  # not CloudFormation's hour


def test_no_parameter_default_is_a_placeholder(template: dict[str, Any]) -> None:
    """A made-up default (an example account, a zero UUID) passes validation and fails late;
    a parameter without a real default has none, and sam deploy asks for it."""
    for name, spec in template["Parameters"].items():
        default = str(spec.get("Default", ""))
        assert not re.search(r"123456789012|000000000000|00000000-0000|REPLACE|example", default), (
            name
        )


def test_samconfig_names_only_real_parameters() -> None:
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    parameters = set(load_template(TEMPLATE)["Parameters"])
    envs = {"default", "dev", "prod"}
    assert envs <= set(config)
    for env in envs:
        assert config[env]["build"]["parameters"].get("use_container", False) is False
        deploy = config[env]["deploy"]["parameters"]
        overrides = deploy.get("parameter_overrides", [])
        names = {o.split("=", 1)[0] for o in overrides}
        assert names <= parameters, names - parameters
        assert "CAPABILITY_IAM" in deploy["capabilities"]
    assert config["prod"]["global"]["parameters"]["stack_name"] == "mayachat-prod"


def test_infra_outputs_feed_the_app_parameters() -> None:
    app = set(load_template(TEMPLATE)["Parameters"])
    network = load_template(REPO / "infra" / "aws" / "network.yaml")["Outputs"]
    services = load_template(REPO / "infra" / "aws" / "services.yaml")
    assert {"SubnetIds", "SecurityGroupIds"} <= set(network) & app
    assert {"MskClusterArn", "RedisUrl", "MongoDbSecretArn"} <= set(services["Outputs"]) & app
    # network.yaml's outputs feed services.yaml too.
    assert {"SubnetIds", "KafkaSecurityGroupId", "CacheSecurityGroupId"} <= set(
        services["Parameters"]
    ) & set(network)
    assert "rediss://" in services["Outputs"]["RedisUrl"]["Value"]["Fn::Sub"]


# -- sample events (tests/events: `sam local invoke -e`) ------------------------------------
SAMPLES = {
    "ws_connect.json": "APIGatewayWebSocketConnectEventModel",
    "ws_disconnect.json": "APIGatewayWebSocketDisconnectEventModel",
    "ws_send_message.json": "APIGatewayWebSocketMessageEventModel",
    "ws_typing.json": "APIGatewayWebSocketMessageEventModel",
    "ws_mark_delivered.json": "APIGatewayWebSocketMessageEventModel",
    "ws_mark_read.json": "APIGatewayWebSocketMessageEventModel",
    "ws_sync.json": "APIGatewayWebSocketMessageEventModel",
    "ws_presence.json": "APIGatewayWebSocketMessageEventModel",
    "ws_ping.json": "APIGatewayWebSocketMessageEventModel",
    "ws_default.json": "APIGatewayWebSocketMessageEventModel",
    "persist_msk.json": "KafkaMskEventModel",
    "notify_msk.json": "KafkaMskEventModel",
    "presence_msk.json": "KafkaMskEventModel",
    "rest_api_get_rooms.json": "APIGatewayProxyEventV2Model",
    "rest_api_health.json": "APIGatewayProxyEventV2Model",
}


@pytest.mark.parametrize(("name", "model"), sorted(SAMPLES.items()))
def test_sample_events_match_the_powertools_models(name: str, model: str) -> None:
    from aws_lambda_powertools.utilities.parser import models

    event = json.loads((EVENTS / name).read_text())
    getattr(models, model).model_validate(event)


def test_the_authorizer_sample_is_a_websocket_request_authorizer_event() -> None:
    event = json.loads((EVENTS / "ws_authorizer.json").read_text())
    assert event["type"] == "REQUEST"
    assert event["methodArn"].endswith("/$connect")
    assert event["requestContext"]["eventType"] == "CONNECT"
    assert "token" in event["queryStringParameters"]


def test_the_msk_sample_holds_valid_log_records() -> None:
    from mayachat.log_schema import WireMessage, WireReceipt

    event = json.loads((EVENTS / "persist_msk.json").read_text())
    mappings = read_mappings(load_template(TEMPLATE)).values()
    topics = {m.topic for m in mappings if m.function == "PersistFunction"}
    records = [r for batch in event["records"].values() for r in batch]
    assert {r["topic"] for r in records} == topics
    for record in records:
        value = json.loads(base64.b64decode(record["value"]))
        (WireMessage if record["topic"] == "chat-messages" else WireReceipt).model_validate(value)


def test_env_json_overrides_only_declared_variables(template: dict[str, Any]) -> None:
    # `sam local invoke --env-vars` sets only variables the template declares.
    declared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for fn in resources_of_type(template, "AWS::Serverless::Function").values():
        declared |= set(((props(fn).get("Environment") or {}).get("Variables")) or {})
    env = json.loads((EVENTS / "env.json").read_text())
    for scope, variables in env.items():
        assert scope == "Parameters" or scope in resources_of_type(
            template, "AWS::Serverless::Function"
        )
        assert set(variables) <= declared, set(variables) - declared


def test_persist_and_the_authorizer_keep_capacity_a_frame_flood_cannot_take(
    template: dict[str, Any],
) -> None:
    for function, parameter in (
        ("PersistFunction", "PersistReservedConcurrency"),
        ("WsAuthorizerFunction", "AuthorizerReservedConcurrency"),
    ):
        reserved = props(template["Resources"][function])["ReservedConcurrentExecutions"]
        assert reserved["Fn::If"][1] == {"Ref": parameter}  # 0 reserves none
        assert template["Parameters"][parameter]["Default"] > 0


def test_the_elasticache_user_may_do_exactly_what_the_adapters_send() -> None:
    """infra/aws/services.yaml's user and the local stack's (services/redis.py) share the
    access string of mayachat.adapters.redis_acl; the default user is off."""
    from mayachat.adapters.redis_acl import access_string

    services = load_template(REPO / "infra" / "aws" / "services.yaml")["Resources"]
    assert props(services["CacheAppUser"])["AccessString"] == access_string()
    assert props(services["CacheDefaultUser"])["AccessString"].startswith("off ")
    assert props(services["Cache"])["UserGroupId"] == {"Ref": "CacheUsers"}


@pytest.mark.parametrize(
    "path", ["template.yaml", "infra/aws/network.yaml", "infra/aws/services.yaml"]
)
def test_every_skipped_scanner_check_says_why_next_to_its_resource(path: str) -> None:
    """`make scan` (checkov) fails on any finding not skipped in the resource's Metadata."""
    for name, resource in load_template(REPO / path)["Resources"].items():
        skips = (resource.get("Metadata") or {}).get("checkov", {}).get("skip", [])
        for skip in skips:
            assert str(skip["id"]).startswith("CKV_"), name
            assert len(skip.get("comment", "")) >= 30, f"{name}: {skip['id']} says too little"


def test_only_the_stack_asked_to_sets_the_account_wide_logs_role(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for name in ("ApiGatewayAccount", "ApiGatewayCloudWatchRole"):
        assert resources[name]["Condition"] == "SetsApiGatewayLogsRole", name
    assert resources["ApiGatewayCloudWatchRole"]["DeletionPolicy"] == "Retain"
    # The stage waits for the role when this stack sets it (a Ref: DependsOn is unconditional).
    description = props(resources["ChatWebSocketStage"])["Description"]["Fn::If"]
    assert description[0] == "SetsApiGatewayLogsRole"
    assert "${ApiGatewayAccount}" in description[1]["Fn::Sub"]


def test_the_dashboard_is_valid_json_of_published_metrics_and_real_alarms(
    template: dict[str, Any],
) -> None:
    import re

    from mayachat.metrics import Count, Timing

    resources = template["Resources"]
    text = props(resources["Dashboard"])["DashboardBody"]["Fn::Sub"]
    referenced = set(re.findall(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}", text))
    assert referenced - {"StageName"} <= set(resources), "names a resource that does not exist"
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "X", text))["widgets"]
    published = {m.value for m in (*Count, *Timing)}
    ours = {
        metric[1]
        for w in widgets
        for metric in w["properties"].get("metrics", [])
        if metric[0] == "MayaChat"
    }
    assert ours == published  # every metric the code publishes is on the page
    [alarms] = [w["properties"]["alarms"] for w in widgets if w["type"] == "alarm"]
    names = re.findall(r'"\$\{(\w+)\.Arn\}"', text)
    assert len(names) == len(alarms) >= 5
    for name in names:
        assert resources[name]["Type"] == "AWS::CloudWatch::Alarm"


def test_cors_is_configured_and_preflight_never_meets_the_authorizer(
    template: dict[str, Any],
) -> None:
    api = props(template["Resources"]["RestHttpApi"])
    cors = api["CorsConfiguration"]
    assert cors["AllowOrigins"] == [{"Ref": "CorsAllowOrigin"}]
    assert {"authorization", "content-type"} <= {h.lower() for h in cors["AllowHeaders"]}
    assert "AllowCredentials" not in cors  # "*" origins are safe only without credentials
    events = props(template["Resources"]["RestApiFunction"])["Events"].values()
    preflight = [props(e) for e in events if props(e).get("Method", "").upper() == "OPTIONS"]
    # ANY /api/{proxy+} matches OPTIONS too: an explicit route without authorizer must win.
    assert [(p["Path"], p["Auth"]["Authorizer"]) for p in preflight] == [("/api/{proxy+}", "NONE")]


def test_snapstart_is_a_parameter_of_the_websocket_route_functions(
    monkeypatch: pytest.MonkeyPatch, template: dict[str, Any]
) -> None:
    from mayachat.edge.routes import FUNCTIONS

    parameter = template["Parameters"]["SnapStart"]
    assert (parameter["Default"], parameter["AllowedValues"]) == (
        "None",
        ["None", "PublishedVersions"],
    )
    snapstarted = {
        name
        for name, r in resources_of_type(template, "AWS::Serverless::Function").items()
        if "SnapStart" in props(r)
    }
    assert snapstarted == set(FUNCTIONS)  # the route functions (their hooks: mayachat.snapstart)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    resources = translate({**DEPLOY_PARAMETERS, "SnapStart": "PublishedVersions"})["Resources"]
    for name in FUNCTIONS:
        assert resources[name]["Properties"]["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}
        assert f"{name}Aliaslive" in resources  # SnapStart restores published versions only
    # API Gateway invokes the alias (a version), never $LATEST.
    uris = [
        str(r["Properties"]["IntegrationUri"])
        for r in resources.values()
        if r["Type"] == "AWS::ApiGatewayV2::Integration"
    ]
    assert uris
    assert all("Aliaslive" in uri for uri in uris)
