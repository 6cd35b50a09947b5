"""The OpenAPI document of /api/v1 against the running service, checked by schemathesis:
every operation, on existing resources and random ones, valid and invalid requests, JSON and
CBOR: no server error, replies and statuses as documented."""

import base64
import os

import cbor2
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

import hil.test_service as harness
from appliance.web.api_v1.openapi import PATHS
from hil.test_api_v1_control_service import notifications_read

ADMIN = "schema-admin"
# per operation and variant: about 15 s in all; set API_V1_EXAMPLES=200 for a deeper search
EXAMPLES = int(os.environ.get("API_V1_EXAMPLES", "12"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@schemathesis.serializer("application/cbor")
def _cbor_body(ctx, value):
    return cbor2.dumps(value)


@schemathesis.deserializer("application/cbor")
def _cbor_reply(ctx, response):
    return cbor2.loads(response.content)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("schemathesis")
    simulator = harness.Simulator(workdir / "ttyGSM0", workdir / "sent.jsonl")
    appliance = harness.Appliance(workdir, simulator.path)
    try:
        result = appliance.cli("user", "set", ADMIN, "--password", harness.PASSWORD, "--admin")
        assert result.returncode == 0, result.stderr
        appliance.start()
        with notifications_read(appliance):   # gateways stopped and restarted at random notify often
            yield f"http://127.0.0.1:{appliance.port}"
    finally:  # killed: schemathesis keeps connections open, which a clean stop would wait out
        appliance.close()
        simulator.stop()


@pytest.fixture(scope="module")
def api_schema(service):
    return schemathesis.openapi.from_url(f"{service}/api/v1/openapi.json")


CREDENTIALS = "Basic " + base64.b64encode(f"{ADMIN}:{harness.PASSWORD}".encode()).decode()


@pytest.fixture(scope="module")
def existing(service):
    """One resource of each kind, made through the API, for the operations on one."""
    def made(path, body):
        reply = requests.post(f"{service}/api/v1{path}", json=body, headers={"Authorization": CREDENTIALS},
                              timeout=10)
        assert reply.status_code == 201, reply.text
        return reply.json()

    message = made("/messages", {"to": ["+447700900123"], "message": "seed"})["messages"][0]["id"]
    made("/contacts", {"name": "Member", "number": "+447700900124"})
    return {"message_id": message, "contact_id": made("/contacts", {"name": "Seed", "number": "+1"})["id"],
            "group_id": made("/groups", {"name": "Seeds", "members": ["Member"]})["id"],
            "name": made("/users", {"name": "seed-user", "password": "seed-password"})["name"],
            "key_id": made("/keys", {"name": "seed"})["id"],
            "number": made("/blocklist", {"number": "+4490", "prefix": True})["number"],
            # stopped, restarted and reconfigured at random: the service answers on regardless
            "gateway": "GSM Modem Gateway", "connector": "HTTP API"}


ON_ONE = [pytest.param(method.upper(), path, id=f"{method.upper()} {path}")
          for path, operations in PATHS.items() if "{" in path for method in operations]


# first, before random ids can delete them: the existing resources, read, changed, deleted in turn
@pytest.mark.parametrize("method, path", ON_ONE)
def test_operations_on_an_existing_resource_answer_as_documented(api_schema, existing, method, path):
    operation = api_schema[path][method]
    names = [p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"]

    @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    # what is not a resource (a gateway's action) is drawn from the document
    @given(case=operation.as_strategy(path_parameters={name: existing[name] for name in names if name in existing}))
    def check(case):
        case.call_and_validate(headers={"Authorization": CREDENTIALS}, checks=CHECKS)

    check()


# valid requests in both reply formats, and invalid ones (which must be refused as documented);
# the document itself takes no input that could be invalid
VARIANTS = {"json": ("application/json", GenerationMode.POSITIVE),
            "cbor": ("application/cbor", GenerationMode.POSITIVE),
            "json-invalid": ("application/json", GenerationMode.NEGATIVE)}
CASES = [pytest.param(method.upper(), path, accept, mode, id=f"{method.upper()} {path} {variant}")
         for path, operations in PATHS.items() for method in operations
         for variant, (accept, mode) in VARIANTS.items()
         if not (path == "/openapi.json" and mode == GenerationMode.NEGATIVE)]


@pytest.mark.parametrize("method, path, accept, mode", CASES)
def test_every_operation_answers_as_documented(api_schema, method, path, accept, mode):
    operation = api_schema[path][method]

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        case.call_and_validate(headers={"Authorization": CREDENTIALS, "Accept": accept}, checks=CHECKS)

    check()
