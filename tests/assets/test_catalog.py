from assets.catalog import FRESHNESS
from assets.definitions import build_definitions


def _nodes(settings):
    graph = build_definitions(settings).get_repository_def().asset_graph
    return {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}


def test_every_asset_has_a_description_a_group_owners_and_a_kind(settings):
    nodes = _nodes(settings)
    assert "report" in nodes and "raw_documents" in nodes
    missing = {name: [what for what, ok in (("description", n.description), ("group", n.group_name and n.group_name != "default"),
                                             ("owners", n.owners), ("kinds", n.kinds)) if not ok]
               for name, n in nodes.items()}
    assert {name: gaps for name, gaps in missing.items() if gaps} == {}


def test_scheduled_assets_carry_a_freshness_policy_and_event_driven_ones_none(settings):
    nodes = _nodes(settings)
    for name, node in nodes.items():
        if name in FRESHNESS:
            assert node.freshness_policy == FRESHNESS[name], name
    assert nodes["latency_sweep"].freshness_policy is not None
    assert nodes["raw_documents"].freshness_policy is None and nodes["manifests"].freshness_policy is None
