"""The official Kubernetes Python client (PyPI `kubernetes`) against mock-kube.

    python_client.py KUBECONFIG SERVICE_ACCOUNT_DIR HOST PORT

Prints "checks passed" when every check holds; any failure raises.
"""
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.config.incluster_config import InClusterConfigLoader

kubeconfig, sa_dir, host, port = sys.argv[1:5]


def api(context="admin"):
    return client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig, context=context))


def status_of(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except ApiException as e:
        return e.status
    raise AssertionError(f"{fn.__name__} succeeded")


core = api()
pod = client.V1Pod(
    metadata=client.V1ObjectMeta(name="py1", labels={"app": "py"}),
    spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1.36")]),
)
created = core.create_namespaced_pod("default", pod)
assert created.metadata.uid and created.metadata.resource_version, created.metadata
assert created.status.phase == "Pending", created.status
assert created.spec.containers[0].termination_message_path == "/dev/termination-log"
assert status_of(core.create_namespaced_pod, "default", pod) == 409

got = core.read_namespaced_pod("py1", "default")
assert got.metadata.uid == created.metadata.uid

# A dict body is a strategic merge patch; a list body is a JSON patch.
p = core.patch_namespaced_pod("py1", "default", {"metadata": {"annotations": {"a": "1"}}})
assert p.metadata.annotations == {"a": "1"}, p.metadata.annotations
p = core.patch_namespaced_pod(
    "py1", "default", [{"op": "add", "path": "/metadata/annotations/userspace~1x", "value": "v"}]
)
assert p.metadata.annotations == {"a": "1", "userspace/x": "v"}, p.metadata.annotations
assert int(p.metadata.resource_version) > int(created.metadata.resource_version)

# Optimistic concurrency: the stale object does not replace the current one.
got.metadata.annotations = {"stale": "1"}
assert status_of(core.replace_namespaced_pod, "py1", "default", got) == 409
fresh = core.read_namespaced_pod("py1", "default")
fresh.metadata.annotations["fresh"] = "1"
r = core.replace_namespaced_pod("py1", "default", fresh)
assert r.metadata.annotations["fresh"] == "1"

# Status subresource.
st = core.patch_namespaced_pod_status("py1", "default", {"status": {"phase": "Running"}})
assert st.status.phase == "Running"

# Selectors.
assert [i.metadata.name for i in core.list_namespaced_pod("default", label_selector="app=py").items] == ["py1"]
assert core.list_namespaced_pod("default", label_selector="app=other").items == []
assert [i.metadata.name for i in core.list_pod_for_all_namespaces(field_selector="metadata.name=py1").items] == ["py1"]
assert status_of(core.list_namespaced_pod, "default", field_selector="spec.bogus=1") == 400

# Watch: the current state first.
events = watch.Watch().stream(
    core.list_namespaced_pod, "default", field_selector="metadata.name=py1", timeout_seconds=30
)
ev = next(events)
assert ev["type"] == "ADDED" and ev["object"].metadata.name == "py1", ev["type"]
events.close()

# Restricted tokens.
assert status_of(api("nobody").read_namespaced_pod, "py1", "default") == 403
plugin = api("plugin")
plugin.patch_namespaced_pod("py1", "default", {"metadata": {"annotations": {"p": "1"}}})
assert status_of(plugin.list_namespaced_pod, "default") == 403
assert status_of(plugin.delete_namespaced_pod, "py1", "default") == 403

# In-cluster configuration from the service-account files mock-kube wrote.
cfg = client.Configuration()
InClusterConfigLoader(
    token_filename=f"{sa_dir}/token",
    cert_filename=f"{sa_dir}/ca.crt",
    environ={"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port},
).load_and_set(cfg)
incluster = client.CoreV1Api(client.ApiClient(cfg))
assert incluster.read_namespaced_pod("py1", "default").metadata.annotations["p"] == "1"

# Custom resources: network-attachment-definitions.
crd = client.CustomObjectsApi(config.new_client_from_config(config_file=kubeconfig))
nad = {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
       "metadata": {"name": "n1"}, "spec": {"config": "{}"}}
crd.create_namespaced_custom_object("k8s.cni.cncf.io", "v1", "default", "network-attachment-definitions", nad)
got = crd.get_namespaced_custom_object("k8s.cni.cncf.io", "v1", "default", "network-attachment-definitions", "n1")
assert got["spec"]["config"] == "{}" and got["metadata"]["generation"] == 1

deleted = core.delete_namespaced_pod("py1", "default", grace_period_seconds=0)
assert deleted.metadata.name == "py1"
assert status_of(core.read_namespaced_pod, "py1", "default") == 404
print("checks passed")
