"""The OpenAPI document of /api/v1 against the running service, checked by schemathesis:
every operation, JSON and CBOR, no server error, replies and statuses as documented."""

import base64
import os

import cbor2
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

import hil.test_service as harness
from appliance.web.api_v1.openapi import PATHS

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
        yield f"http://127.0.0.1:{appliance.port}"
    finally:  # killed: schemathesis keeps connections open, which a clean stop would wait out
        appliance.close()
        simulator.stop()


@pytest.fixture(scope="module")
def api_schema(service):
    return schemathesis.openapi.from_url(f"{service}/api/v1/openapi.json")


CREDENTIALS = "Basic " + base64.b64encode(f"{ADMIN}:{harness.PASSWORD}".encode()).decode()


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
