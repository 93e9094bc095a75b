"""infra/azuredeploy.json, read as a specification of the Azure deployment (no Azure needed)."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys

import arm_template as t
import pytest

from hpcburst import constants as c
from hpcburst.provisioners import factory as provisioners
from hpcburst.settings import Settings
from hpcburst.storage.state.cosmos import indexing_policy

ROLES = {  # built-in role definition ids (stable across Azure) -> what the code does with each
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor: blobs, host leases, user delegation key",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor: hpc-dispatch, the task hub queues",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor: the task hub's history tables",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher: telemetry with Entra auth",
}
COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"

# Settings the code reads that the deployment leaves unset, each for a reason.
UNSET_IN_AZURE = {
    c.ENV_URL: "CLI and agents: where the API is (the app reads HPCBURST_PUBLIC_URL first)",
    c.ENV_TOKEN: "CLI: a user's token",
    c.ENV_JOIN_TOKEN: "agent: a pool's join secret",
    c.ENV_TASK_USER: "agent",
    c.ENV_USER_MAP: "agent",
    c.ENV_KEEP_TASK_DIRS: "agent",
    c.ENV_SCHEDULED_EVENTS_URL: "agent on a cloud VM",
    c.ENV_DEAD_MAN_MINUTES: "agent on a cloud VM",
    c.ENV_SQLITE_PATH: "SQLite is refused in Azure",
    c.ENV_DATA_DIR: "local files only (SQLite, local provisioner)",
    c.ENV_COSMOS_KEY: "never: Cosmos is reached with the managed identity (disableLocalAuth)",
    c.ENV_COSMOS_VERIFY_TLS: "default (verify) is right",
    c.ENV_COSMOS_EMULATOR: "tests only",
    c.ENV_STORAGE_CONNECTION: "never: a connection string carries the account key (AzureWebJobsStorage__* instead)",
    c.ENV_AZURE_INSTANCE: "set by the platform on every instance",
    c.ENV_MAX_BODY: "default (1 MiB) fits",
    c.ENV_MAX_OUTPUT_BYTES: "default fits",
    c.ENV_HEARTBEAT_INTERVAL: "default fits",
    c.ENV_NODE_TIMEOUT: "default fits",
    c.ENV_SCHEDULING_MODE: "default (balanced)",
    c.ENV_ENTRA_ISSUER: "derived from the tenant",
    c.ENV_ENTRA_JWKS_URL: "derived from the tenant",
    provisioners.ENV_LOCAL_NODES_DIR: "local provisioner only",
    provisioners.ENV_LOCAL_BOOT_DELAY: "local provisioner only",
    provisioners.ENV_LOCAL_FAIL_RATE: "local provisioner only",
    provisioners.ENV_LOCAL_SEED: "local provisioner only",
}
# Settings for the platform (the Functions host, the Python worker, App Service, azure-identity).
PLATFORM = {
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
    "AzureWebJobsFeatureFlags",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "AZURE_CLIENT_ID",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}


def settings_the_code_reads() -> set[str]:
    names = {value for key, value in vars(c).items() if key.startswith("ENV_") and isinstance(value, str)}
    names |= {v for k, v in vars(provisioners).items() if k.startswith("ENV_") and isinstance(v, str)}
    names |= set(provisioners.AZURE_ENV.values())
    return names | {f"{conn}__accountName" for conn in trigger_connections()}


_CONNECTIONS = """
import json, function_app
triggers = [f.get_trigger() for f in function_app.app.get_functions()]
print(json.dumps(sorted({t.connection for t in triggers if getattr(t, "connection", None)})))
"""


@functools.cache
def trigger_connections() -> frozenset[str]:
    """The storage connections the app's triggers name, as the Functions host indexes them (a fresh process)."""
    run = subprocess.run(
        [sys.executable, "-c", _CONNECTIONS], cwd=t.ROOT, capture_output=True, text=True, check=True
    )
    return frozenset(json.loads(run.stdout.splitlines()[-1]))


@pytest.fixture(scope="module")
def template() -> dict:
    return t.load()


def test_the_template_is_well_formed(template: dict) -> None:
    assert template["$schema"].endswith("deploymentTemplate.json#")
    for scope in [template, *t.nested_templates(template)]:
        assert t.expression_problems(scope) == []
    for resource in t.resources(template):
        assert {"type", "apiVersion", "name"} <= resource.keys(), resource


def test_every_setting_the_code_reads_is_set_or_left_out_for_a_named_reason(template: dict) -> None:
    read = settings_the_code_reads()
    settings = t.app_settings(template)
    assert read - settings.keys() - UNSET_IN_AZURE.keys() == set()
    assert settings.keys() & UNSET_IN_AZURE.keys() == set()
    assert UNSET_IN_AZURE.keys() <= read, "a reason for a setting nothing reads any more"
    assert settings.keys() - read - PLATFORM == set(), "a setting nothing reads"


def test_the_trigger_connection_is_identity_based(template: dict) -> None:
    settings = t.app_settings(template)
    for conn in trigger_connections():
        assert conn not in settings, f"{conn} would be a connection string with a key"
        assert settings[f"{conn}__accountName"]
        assert settings[f"{conn}__credential"] == "managedidentity"
        assert "clientId" in settings[f"{conn}__clientId"]


def test_the_app_runs_on_cosmos_in_the_database_the_template_makes(template: dict) -> None:
    settings = t.app_settings(template)
    assert settings[c.ENV_STATE_BACKEND] == "cosmos"
    assert template["variables"]["cosmosDatabase"] == Settings().cosmos_database
    assert "documentEndpoint" in settings[c.ENV_COSMOS_ENDPOINT]


SECRET_MARKERS = ("AccountKey=", "listKeys(", "listConnectionStrings(", "SharedAccessSignature", "sig=",
                  "primaryMasterKey", "InstrumentationKey=", "Password", "clientSecret")  # fmt: skip


def test_no_key_secret_or_secret_bearing_connection_string_appears(template: dict) -> None:
    text = json.dumps(template)
    for marker in SECRET_MARKERS:
        assert marker.lower() not in text.lower(), marker
    for name, parameter in template["parameters"].items():
        assert parameter["type"].lower() not in ("securestring", "secureobject"), name


def test_keys_are_switched_off_where_a_service_has_them(template: dict) -> None:
    [storage] = t.of_type(template, "Microsoft.Storage/storageAccounts")
    assert storage["properties"]["allowSharedKeyAccess"] is False
    [cosmos] = t.of_type(template, "Microsoft.DocumentDB/databaseAccounts")
    assert cosmos["properties"]["disableLocalAuth"] is True
    [insights] = t.of_type(template, "Microsoft.Insights/components")
    assert insights["properties"]["DisableLocalAuth"] is True
    assert "Authorization=AAD" in t.app_settings(template)["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    for kind in ("scm", "ftp"):
        [policy] = [p for p in t.of_type(template, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
                    if f"/{kind}'" in p["name"]]  # fmt: skip
        assert policy["properties"]["allow"] is False


def _role_id(assignment: dict) -> str:
    return re.findall(r"'([0-9a-f-]{36})'\)", assignment["properties"]["roleDefinitionId"])[-1]


def test_every_role_the_code_needs_is_assigned_to_the_apps_identity_and_none_more(template: dict) -> None:
    assignments = t.of_type(template, "Microsoft.Authorization/roleAssignments")
    built_in = [a for a in assignments if "subscriptionResourceId" in a["properties"]["roleDefinitionId"]]
    custom = [a for a in assignments if a not in built_in]
    assert sorted(_role_id(a) for a in built_in) == sorted(ROLES)
    assert len(custom) == 1
    storage_scoped = [a for a in built_in if "storageAccounts" in a["scope"]]
    assert len(storage_scoped) == 3, "the three data roles are on the storage account, not the group"
    for assignment in built_in:
        assert "principalId" in assignment["properties"]["principalId"]
    [sql] = t.of_type(template, "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")
    assert "cosmosDataContributor" in sql["properties"]["roleDefinitionId"]
    assert template["variables"]["cosmosDataContributor"] == COSMOS_DATA_CONTRIBUTOR


def test_the_provisioner_role_is_the_documented_custom_role_on_the_burst_group_only(template: dict) -> None:
    [deployment] = t.of_type(template, "Microsoft.Resources/deployments")
    assert deployment["resourceGroup"] == "[variables('burstResourceGroup')]"
    [role] = t.of_type(template, "Microsoft.Authorization/roleDefinitions")
    assert role["properties"]["assignableScopes"] == ["[resourceGroup().id]"]
    doc = (t.ROOT / "docs" / "azure-provisioner.md").read_text()
    documented = json.loads(re.search(r"```json\n(.*?)```", doc, re.S).group(1))["Actions"]
    assert template["variables"]["vmssProvisionerActions"] == documented
    assert all(not action.endswith("*") for action in documented)


def test_cosmos_is_serverless_with_the_containers_partitions_and_indexes_the_code_derives(
    template: dict,
) -> None:
    [account] = t.of_type(template, "Microsoft.DocumentDB/databaseAccounts")
    assert {"name": "EnableServerless"} in account["properties"]["capabilities"]
    expected = [
        {"name": name, "indexingPolicy": indexing_policy(fields)} for name, fields in c.INDEXED_FIELDS.items()
    ]
    assert template["variables"]["containers"] == expected
    [containers] = t.of_type(template, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers")
    assert containers["properties"]["resource"]["partitionKey"]["paths"] == ["/pk"]
    assert containers["copy"]["count"] == "[length(variables('containers'))]"


def test_the_app_is_python_311_on_premium_with_one_warm_bounded_broker_process(template: dict) -> None:
    [plan] = t.of_type(template, "Microsoft.Web/serverfarms")
    assert plan["sku"]["tier"] == "ElasticPremium" and plan["properties"]["reserved"] is True
    site = t.function_app(template)
    config = site["properties"]["siteConfig"]
    assert config["linuxFxVersion"] == "Python|3.11"
    parameters = template["parameters"]
    assert config["functionAppScaleLimit"] == "[parameters('maximumInstances')]"
    assert parameters["maximumInstances"]["defaultValue"] == 1
    assert config["minimumElasticInstanceCount"] == "[parameters('alwaysReadyInstances')]"
    assert parameters["alwaysReadyInstances"]["minValue"] >= 1
    assert t.app_settings(template)["FUNCTIONS_WORKER_PROCESS_COUNT"] == "1"
    assert site["identity"]["type"] == "UserAssigned" and site["properties"]["httpsOnly"] is True


def test_app_service_authentication_vouches_for_entra_users_only_when_an_audience_is_given(
    template: dict,
) -> None:
    [auth] = t.of_type(template, "Microsoft.Web/sites/config")
    assert "/authsettingsV2'" in auth["name"]
    assert auth["condition"] == "[not(empty(parameters('entraAudience')))]"
    # agents and hpcburst tokens pass through; the app authorizes every call itself
    assert auth["properties"]["globalValidation"]["unauthenticatedClientAction"] == "AllowAnonymous"
    settings = t.app_settings(template)
    assert settings[c.ENV_TRUST_APP_SERVICE_AUTH] == "[if(empty(parameters('entraAudience')), '0', '1')]"


# What ARM would make of the settings that are expressions, for a deployment without Entra sign-in.
RESOLVED = {
    c.ENV_STORAGE_ACCOUNT_NAME: "hpcdemost1a2b3c",
    c.ENV_COSMOS_ENDPOINT: "https://hpcdemo-cosmos-1a2b3c.documents.azure.com:443/",
    c.ENV_COSMOS_DATABASE: "hpcburst",
    c.ENV_STORAGE_ACCOUNT_URL: "https://hpcdemost1a2b3c.blob.core.windows.net",
    c.ENV_ENTRA_TENANT_ID: "",
    c.ENV_ENTRA_AUDIENCE: "",
    c.ENV_ENTRA_ADMIN_ROLE: "hpcburst.admin",
    c.ENV_TRUST_APP_SERVICE_AUTH: "0",
}


def test_the_deployed_settings_pass_the_apps_own_checks_in_azure(template: dict) -> None:
    from hpcburst.auth.entra_settings import EntraSettings

    env = {name: RESOLVED.get(name, "x") if value.startswith("[") else value
           for name, value in t.app_settings(template).items()}  # fmt: skip
    settings = Settings.from_env({**env, c.ENV_AZURE_INSTANCE: "instance-1"})
    assert settings.state_backend == "cosmos" and settings.cosmos_key is None
    assert settings.storage_connection is None and settings.storage_account_url
    assert not settings.cosmos_emulator and settings.cosmos_verify_tls
    assert EntraSettings.from_env(env).trust_app_service_auth is False
