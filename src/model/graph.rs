//! The dependency graph of twins on a `petgraph` `StableGraph`, with the queries the
//! workbench asks of it: dependencies, dependents, blast radius, cycles and the
//! critical (slowest) path.
//!
//! Edge direction: an edge goes from the dependent to what it needs. `web -> db`
//! (depends_on) means web needs db; `app -> host-1` (runs_on) means app runs on
//! host-1; `lb -> web` (routes_to) means lb sends traffic to web. `db-primary ->
//! db-replica` (replicates_to) carries data to the replica but does not make the
//! primary depend on it, so failures do not travel back along it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use petgraph::Direction;
use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableGraph};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};

use super::{Twin, TwinId, TwinKind};

/// The type of a dependency edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// The source calls the target and fails or slows when it does.
    DependsOn,
    /// The source runs on the target (a host, VM or container).
    RunsOn,
    /// The source routes traffic to the target (load balancer → service).
    RoutesTo,
    /// The source replicates its data to the target.
    ReplicatesTo,
}

impl EdgeKind {
    /// Every kind of edge.
    pub const ALL: [EdgeKind; 4] = [EdgeKind::DependsOn, EdgeKind::RunsOn, EdgeKind::RoutesTo, EdgeKind::ReplicatesTo];

    /// The snake_case name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::DependsOn => "depends_on",
            EdgeKind::RunsOn => "runs_on",
            EdgeKind::RoutesTo => "routes_to",
            EdgeKind::ReplicatesTo => "replicates_to",
        }
    }

    /// Whether a failure of the target reaches the source along this edge.
    pub fn propagates_failure(self) -> bool {
        !matches!(self, EdgeKind::ReplicatesTo)
    }
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed dependency edge with its attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Dependency {
    /// What kind of dependency it is.
    pub kind: EdgeKind,
    /// Share of the source's traffic that goes along this edge, in [0, 1].
    pub traffic_share: f64,
    /// Latency the hop adds, in milliseconds.
    pub latency_ms: f64,
}

impl Dependency {
    /// An edge of `kind` carrying all traffic with no added latency.
    pub fn new(kind: EdgeKind) -> Self {
        Self { kind, traffic_share: 1.0, latency_ms: 0.0 }
    }
}

/// Errors building a graph.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GraphError {
    /// Two twins share an id.
    #[error("duplicate twin id {0:?}")]
    DuplicateTwin(TwinId),
    /// An edge names a twin that does not exist.
    #[error("dependency refers to unknown twin {0:?}")]
    UnknownTwin(TwinId),
    /// An edge from a twin to itself.
    #[error("twin {0:?} cannot depend on itself")]
    SelfDependency(TwinId),
    /// The same edge was declared twice.
    #[error("dependency {from:?} -> {to:?} ({kind}) is declared twice")]
    DuplicateEdge {
        /// Source twin.
        from: TwinId,
        /// Target twin.
        to: TwinId,
        /// Kind of the edge.
        kind: EdgeKind,
    },
}

/// Twins and their dependencies.
#[derive(Clone, Debug, Default)]
pub struct TwinGraph {
    graph: StableGraph<Twin, Dependency>,
    index: BTreeMap<TwinId, NodeIndex>,
}

impl TwinGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a twin; its id must be new.
    pub fn add_twin(&mut self, twin: Twin) -> Result<NodeIndex, GraphError> {
        if self.index.contains_key(&twin.id) {
            return Err(GraphError::DuplicateTwin(twin.id));
        }
        let id = twin.id.clone();
        let node = self.graph.add_node(twin);
        self.index.insert(id, node);
        Ok(node)
    }

    /// Adds an edge `from -> to`; both twins must exist.
    pub fn add_dependency(
        &mut self,
        from: &TwinId,
        to: &TwinId,
        dependency: Dependency,
    ) -> Result<EdgeIndex, GraphError> {
        let a = self.node(from).ok_or_else(|| GraphError::UnknownTwin(from.clone()))?;
        let b = self.node(to).ok_or_else(|| GraphError::UnknownTwin(to.clone()))?;
        if a == b {
            return Err(GraphError::SelfDependency(from.clone()));
        }
        if self.graph.edges_connecting(a, b).any(|e| e.weight().kind == dependency.kind) {
            return Err(GraphError::DuplicateEdge { from: from.clone(), to: to.clone(), kind: dependency.kind });
        }
        Ok(self.graph.add_edge(a, b, dependency))
    }

    /// Moves a twin to another host: its `runs_on` edges are replaced by one to `host`
    /// (keeping the attributes of the first old edge).
    pub fn set_host(&mut self, id: &TwinId, host: &TwinId) -> Result<(), GraphError> {
        let a = self.node(id).ok_or_else(|| GraphError::UnknownTwin(id.clone()))?;
        let b = self.node(host).ok_or_else(|| GraphError::UnknownTwin(host.clone()))?;
        if a == b {
            return Err(GraphError::SelfDependency(id.clone()));
        }
        let mut old: Vec<EdgeIndex> = self
            .graph
            .edges_directed(a, Direction::Outgoing)
            .filter(|e| e.weight().kind == EdgeKind::RunsOn)
            .map(|e| e.id())
            .collect();
        old.sort();
        let attributes = old
            .first()
            .and_then(|e| self.graph.edge_weight(*e).cloned())
            .unwrap_or_else(|| Dependency::new(EdgeKind::RunsOn));
        for e in old {
            self.graph.remove_edge(e);
        }
        self.graph.add_edge(a, b, attributes);
        Ok(())
    }

    /// The attributes of the edge `from -> to` of `kind`, mutably.
    pub fn dependency_mut(&mut self, from: &TwinId, to: &TwinId, kind: EdgeKind) -> Option<&mut Dependency> {
        let (a, b) = (self.node(from)?, self.node(to)?);
        let edge = self.graph.edges_connecting(a, b).find(|e| e.weight().kind == kind).map(|e| e.id())?;
        self.graph.edge_weight_mut(edge)
    }

    /// Number of twins.
    pub fn twin_count(&self) -> usize {
        self.graph.node_count()
    }

    /// Number of dependency edges.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The node index of a twin.
    pub fn node(&self, id: &TwinId) -> Option<NodeIndex> {
        self.index.get(id).copied()
    }

    /// A twin by id.
    pub fn twin(&self, id: &TwinId) -> Option<&Twin> {
        self.node(id).and_then(|n| self.graph.node_weight(n))
    }

    /// A twin by id, mutably.
    pub fn twin_mut(&mut self, id: &TwinId) -> Option<&mut Twin> {
        let node = self.node(id)?;
        self.graph.node_weight_mut(node)
    }

    /// A twin by node index.
    pub fn twin_at(&self, node: NodeIndex) -> Option<&Twin> {
        self.graph.node_weight(node)
    }

    /// All twins, sorted by id.
    pub fn twins(&self) -> impl Iterator<Item = &Twin> + '_ {
        self.index.values().filter_map(|n| self.graph.node_weight(*n))
    }

    /// All twin ids, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &TwinId> + '_ {
        self.index.keys()
    }

    /// All edges as (from, to, dependency), sorted by (from, to, kind).
    pub fn edges(&self) -> Vec<(&TwinId, &TwinId, &Dependency)> {
        let mut edges: Vec<_> = self
            .graph
            .edge_references()
            .filter_map(|e| {
                let from = &self.graph.node_weight(e.source())?.id;
                let to = &self.graph.node_weight(e.target())?.id;
                Some((from, to, e.weight()))
            })
            .collect();
        edges.sort_by(|a, b| (a.0, a.1, a.2.kind).cmp(&(b.0, b.1, b.2.kind)));
        edges
    }

    /// The underlying petgraph graph (read-only), for views that need node indices.
    pub fn petgraph(&self) -> &StableGraph<Twin, Dependency> {
        &self.graph
    }

    fn neighbours(&self, id: &TwinId, direction: Direction) -> Vec<(&Twin, &Dependency)> {
        let Some(node) = self.node(id) else {
            return Vec::new();
        };
        let mut out: Vec<_> = self
            .graph
            .edges_directed(node, direction)
            .filter_map(|e| {
                let other = match direction {
                    Direction::Outgoing => e.target(),
                    Direction::Incoming => e.source(),
                };
                Some((self.graph.node_weight(other)?, e.weight()))
            })
            .collect();
        out.sort_by(|a, b| (&a.0.id, a.1.kind).cmp(&(&b.0.id, b.1.kind)));
        out
    }

    /// What `id` needs (its outgoing edges), sorted by id.
    pub fn dependencies(&self, id: &TwinId) -> Vec<(&Twin, &Dependency)> {
        self.neighbours(id, Direction::Outgoing)
    }

    /// What needs `id` (its incoming edges), sorted by id.
    pub fn dependents(&self, id: &TwinId) -> Vec<(&Twin, &Dependency)> {
        self.neighbours(id, Direction::Incoming)
    }

    /// Every twin a failure of `id` can reach: its transitive dependents along edges
    /// that propagate failure, sorted by id, not including `id` itself.
    pub fn blast_radius(&self, id: &TwinId) -> Vec<TwinId> {
        let Some(start) = self.node(id) else {
            return Vec::new();
        };
        let mut seen = BTreeSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            for edge in self.graph.edges_directed(node, Direction::Incoming) {
                if edge.weight().kind.propagates_failure() && seen.insert(edge.source()) {
                    queue.push_back(edge.source());
                }
            }
        }
        seen.remove(&start);
        let mut ids: Vec<TwinId> =
            seen.into_iter().filter_map(|n| self.graph.node_weight(n).map(|t| t.id.clone())).collect();
        ids.sort();
        ids
    }

    /// The twins within `hops` edges of `id`, following dependencies and dependents
    /// alike (edges of every kind), `id` included; sorted. Empty for an unknown twin.
    pub fn neighbourhood(&self, id: &TwinId, hops: usize) -> Vec<TwinId> {
        let Some(start) = self.node(id) else {
            return Vec::new();
        };
        let mut seen = BTreeSet::from([start]);
        let mut frontier = vec![start];
        for _ in 0..hops {
            let mut next = Vec::new();
            for node in frontier {
                for other in self.graph.neighbors_undirected(node) {
                    if seen.insert(other) {
                        next.push(other);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        let mut ids: Vec<TwinId> =
            seen.into_iter().filter_map(|n| self.graph.node_weight(n).map(|t| t.id.clone())).collect();
        ids.sort();
        ids
    }

    /// A shortest chain of dependencies between `from` and `to`, following edges of
    /// every kind in either direction, both ends included (`[from]` when they are the
    /// same twin); among equally short chains, the one through the smallest ids.
    /// `None` when they are not connected or either is unknown.
    pub fn path_between(&self, from: &TwinId, to: &TwinId) -> Option<Vec<TwinId>> {
        let (start, goal) = (self.node(from)?, self.node(to)?);
        let id_of = |n: NodeIndex| self.graph.node_weight(n).map(|t| &t.id);
        let mut parent: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
        let mut seen = BTreeSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            if node == goal {
                break;
            }
            let mut next: Vec<NodeIndex> =
                self.graph.neighbors_undirected(node).filter(|n| !seen.contains(n)).collect();
            next.sort_by(|a, b| id_of(*a).cmp(&id_of(*b)));
            next.dedup();
            for other in next {
                seen.insert(other);
                parent.insert(other, node);
                queue.push_back(other);
            }
        }
        if !seen.contains(&goal) {
            return None;
        }
        let mut chain = vec![goal];
        while let Some(up) = parent.get(chain.last()?) {
            chain.push(*up);
        }
        chain.reverse();
        chain.into_iter().map(|n| id_of(n).cloned()).collect()
    }

    /// The twins in named groups, for drawing and summarising an estate by application:
    /// twins tagged `app:NAME` (or `namespace:NAME`) form the group NAME; the others are
    /// grouped by [`TwinGraph::communities`], each named after its members' common id
    /// prefix (`shop-web`, `shop-db` → `shop`) or, without one, `group N`. Every twin is
    /// in exactly one group; groups sorted by name, twins by id.
    pub fn groups(&self) -> Vec<TwinGroup> {
        fn tagged(t: &Twin) -> Option<&str> {
            t.tags.iter().find_map(|tag| tag.strip_prefix("app:").or_else(|| tag.strip_prefix("namespace:")))
        }
        let mut named: BTreeMap<String, Vec<TwinId>> = BTreeMap::new();
        for twin in self.twins() {
            if let Some(name) = tagged(twin).filter(|n| !n.is_empty()) {
                named.entry(name.to_string()).or_default().push(twin.id.clone());
            }
        }
        let untagged = |id: &TwinId| self.twin(id).is_some_and(|t| tagged(t).is_none_or(str::is_empty));
        let mut unnamed = 0;
        for community in self.communities() {
            let twins: Vec<TwinId> = community.into_iter().filter(|id| untagged(id)).collect();
            if twins.is_empty() {
                continue;
            }
            let mut name = common_prefix(&twins);
            if name.is_empty() {
                name = first_segments(&twins);
            }
            if name.is_empty() || named.contains_key(&name) {
                unnamed += 1;
                name = format!("group {unnamed}");
            }
            named.entry(name).or_default().extend(twins);
        }
        named
            .into_iter()
            .map(|(name, mut twins)| {
                twins.sort();
                TwinGroup { name, twins }
            })
            .collect()
    }

    /// Dependency cycles: every strongly connected component of more than one twin,
    /// each sorted by id, the list sorted by its first id.
    pub fn cycles(&self) -> Vec<Vec<TwinId>> {
        let mut cycles: Vec<Vec<TwinId>> = petgraph::algo::tarjan_scc(&self.graph)
            .into_iter()
            .filter(|scc| scc.len() > 1)
            .map(|scc| {
                let mut ids: Vec<TwinId> =
                    scc.into_iter().filter_map(|n| self.graph.node_weight(n).map(|t| t.id.clone())).collect();
                ids.sort();
                ids
            })
            .collect();
        cycles.sort();
        cycles
    }

    /// The slowest chain of calls starting at `from`: the path along outgoing edges that
    /// maximises the summed edge latency. Returns the twins on the path (starting with
    /// `from`) and the total latency in ms. Twins in a cycle are visited once per path.
    pub fn critical_path(&self, from: &TwinId) -> Option<(Vec<TwinId>, f64)> {
        let start = self.node(from)?;
        let mut memo: BTreeMap<NodeIndex, (f64, Option<NodeIndex>)> = BTreeMap::new();
        let mut on_stack = BTreeSet::new();
        self.longest_from(start, &mut memo, &mut on_stack);
        let total = memo.get(&start).map_or(0.0, |(len, _)| *len);
        let mut path = vec![self.graph.node_weight(start)?.id.clone()];
        let mut node = start;
        let mut guard = self.graph.node_count();
        while let Some((_, Some(next))) = memo.get(&node) {
            path.push(self.graph.node_weight(*next)?.id.clone());
            node = *next;
            guard = guard.checked_sub(1)?;
        }
        Some((path, total))
    }

    fn longest_from(
        &self,
        node: NodeIndex,
        memo: &mut BTreeMap<NodeIndex, (f64, Option<NodeIndex>)>,
        on_stack: &mut BTreeSet<NodeIndex>,
    ) -> f64 {
        if let Some((len, _)) = memo.get(&node) {
            return *len;
        }
        on_stack.insert(node);
        let mut best = (0.0, None);
        let mut edges: Vec<_> =
            self.graph.edges_directed(node, Direction::Outgoing).map(|e| (e.target(), e.weight().latency_ms)).collect();
        edges.sort_by_key(|(target, _)| self.graph.node_weight(*target).map(|t| t.id.clone()));
        for (target, latency) in edges {
            if on_stack.contains(&target) {
                continue;
            }
            let len = latency + self.longest_from(target, memo, on_stack);
            if len > best.0 {
                best = (len, Some(target));
            }
        }
        on_stack.remove(&node);
        memo.insert(node, best);
        best.0
    }

    /// Row of each twin in a layered drawing, top to bottom: what nothing depends on
    /// at the top, each twin above everything it needs, the infrastructure workloads run
    /// on (hosts, VMs, containers) in the bottom row. Rows come from the longest chain
    /// of needs below a twin (ignoring `runs_on`, which only places workloads, and edges
    /// that close a cycle), so data stores sit just above the hosts.
    pub fn levels(&self) -> BTreeMap<TwinId, usize> {
        let mut height: BTreeMap<NodeIndex, usize> = BTreeMap::new();
        let mut on_stack = BTreeSet::new();
        for node in self.index.values() {
            self.height(*node, &mut height, &mut on_stack);
        }
        let is_infra = |n: NodeIndex| {
            self.graph
                .node_weight(n)
                .is_some_and(|t| matches!(t.kind, TwinKind::Host | TwinKind::Vm | TwinKind::Container))
        };
        let top = height.iter().filter(|(n, _)| !is_infra(**n)).map(|(_, h)| *h).max().unwrap_or(0);
        height
            .into_iter()
            .filter_map(|(n, h)| {
                let row = if is_infra(n) { top + 1 } else { top - h };
                Some((self.graph.node_weight(n)?.id.clone(), row))
            })
            .collect()
    }

    /// Groups of closely connected twins (for drawing large estates as blocks):
    /// deterministic label propagation — every twin repeatedly takes the label most of
    /// its neighbours carry (ties to the smallest label), visiting twins in id order,
    /// until nothing changes. Groups are sorted by their first id; ids within a group
    /// are sorted.
    pub fn communities(&self) -> Vec<Vec<TwinId>> {
        let nodes: Vec<NodeIndex> = self.index.values().copied().collect();
        let position: BTreeMap<NodeIndex, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let neighbours: Vec<Vec<usize>> = nodes
            .iter()
            .map(|n| {
                let mut out: Vec<usize> =
                    self.graph.neighbors_undirected(*n).filter_map(|m| position.get(&m).copied()).collect();
                out.sort_unstable();
                out
            })
            .collect();
        let mut label: Vec<usize> = (0..nodes.len()).collect();
        for _ in 0..50 {
            let mut changed = false;
            for i in 0..nodes.len() {
                let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
                for j in &neighbours[i] {
                    *counts.entry(label[*j]).or_insert(0) += 1;
                }
                let best = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(l, _)| *l);
                if let Some(best) = best
                    && best != label[i]
                    && counts.get(&label[i]) < counts.get(&best)
                {
                    label[i] = best;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut groups: BTreeMap<usize, Vec<TwinId>> = BTreeMap::new();
        for (i, n) in nodes.iter().enumerate() {
            if let Some(twin) = self.graph.node_weight(*n) {
                groups.entry(label[i]).or_default().push(twin.id.clone());
            }
        }
        let mut out: Vec<Vec<TwinId>> = groups.into_values().collect();
        for g in &mut out {
            g.sort();
        }
        out.sort();
        out
    }

    fn height(
        &self,
        node: NodeIndex,
        memo: &mut BTreeMap<NodeIndex, usize>,
        on_stack: &mut BTreeSet<NodeIndex>,
    ) -> usize {
        if let Some(h) = memo.get(&node) {
            return *h;
        }
        on_stack.insert(node);
        let mut targets: Vec<NodeIndex> = self
            .graph
            .edges_directed(node, Direction::Outgoing)
            .filter(|e| e.weight().kind != EdgeKind::RunsOn)
            .map(|e| e.target())
            .collect();
        targets.sort();
        let mut h = 0;
        for target in targets {
            if !on_stack.contains(&target) {
                h = h.max(1 + self.height(target, memo, on_stack));
            }
        }
        on_stack.remove(&node);
        memo.insert(node, h);
        h
    }
}

/// A named group of twins (an application, a namespace or a community).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwinGroup {
    /// The group's name.
    pub name: String,
    /// Its twins, sorted by id.
    pub twins: Vec<TwinId>,
}

/// The distinct first segments of the ids (before a separator), most common first,
/// joined by ` + ` when there are two or three (`app1-web`, `app7-db` → `app1 + app7`);
/// empty for more.
fn first_segments(ids: &[TwinId]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in ids {
        let text = id.as_str();
        let head = text.split(['-', '_', '.']).next().unwrap_or(text);
        *counts.entry(head).or_default() += 1;
    }
    if counts.len() > 3 {
        return String::new();
    }
    let mut heads: Vec<(&str, usize)> = counts.into_iter().collect();
    heads.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    heads.iter().map(|(h, _)| *h).collect::<Vec<_>>().join(" + ")
}

/// The common prefix of the ids up to their last shared separator (`-`, `_`, `.`),
/// without it: `shop-web-1`, `shop-db` → `shop`; empty when they share none.
fn common_prefix(ids: &[TwinId]) -> String {
    let Some(first) = ids.first().map(TwinId::as_str) else {
        return String::new();
    };
    let mut len = first.len();
    for id in &ids[1..] {
        len = first.bytes().zip(id.as_str().bytes()).take(len).take_while(|(a, b)| a == b).count();
    }
    let shared = &first[..len];
    if ids.len() == 1 {
        return first.to_string();
    }
    match shared.rfind(['-', '_', '.']) {
        Some(cut) => shared[..cut].to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TwinKind;

    /// Builds a graph from lines like `"lb -> web -> db"` (all depends_on edges, 1 ms).
    pub(crate) fn graph(spec: &str) -> TwinGraph {
        let mut g = TwinGraph::new();
        for line in spec.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let names: Vec<&str> = line.split("->").map(str::trim).collect();
            for name in &names {
                let id = TwinId::new(name);
                if g.node(&id).is_none() {
                    g.add_twin(Twin::new(id, TwinKind::Service)).ok();
                }
            }
            for pair in names.windows(2) {
                let mut dep = Dependency::new(EdgeKind::DependsOn);
                dep.latency_ms = 1.0;
                g.add_dependency(&pair[0].into(), &pair[1].into(), dep).ok();
            }
        }
        g
    }

    fn ids(v: &[TwinId]) -> Vec<&str> {
        v.iter().map(TwinId::as_str).collect()
    }

    #[test]
    fn blast_radius_is_transitive_dependents() {
        let g = graph("lb -> web -> db\nlb -> api -> db\nworker -> queue");
        assert_eq!(ids(&g.blast_radius(&"db".into())), ["api", "lb", "web"]);
        assert!(g.blast_radius(&"lb".into()).is_empty());
        assert!(g.blast_radius(&"missing".into()).is_empty());
    }

    #[test]
    fn groups_follow_app_tags_then_communities_named_by_prefix() {
        let mut g = graph("shop-web -> shop-db\nshop-web -> shop-cache\npay-api -> pay-db\nx -> y");
        for id in ["x", "y"] {
            if let Some(t) = g.twin_mut(&id.into()) {
                t.tags.insert("app:billing".into());
            }
        }
        let found = g.groups();
        let groups: Vec<(String, Vec<&str>)> =
            found.iter().map(|gr| (gr.name.clone(), gr.twins.iter().map(TwinId::as_str).collect())).collect();
        assert_eq!(
            groups,
            [
                ("billing".to_string(), vec!["x", "y"]),
                ("pay".to_string(), vec!["pay-api", "pay-db"]),
                ("shop".to_string(), vec!["shop-cache", "shop-db", "shop-web"]),
            ]
        );
        let all: usize = g.groups().iter().map(|gr| gr.twins.len()).sum();
        assert_eq!(all, g.twin_count());
        assert_eq!(common_prefix(&["a".into(), "b".into()]), "");
        let merged: Vec<TwinId> = ["app1-web", "app7-db", "app7-lb"].into_iter().map(TwinId::new).collect();
        assert_eq!(first_segments(&merged), "app7 + app1");
    }

    #[test]
    fn a_neighbourhood_reaches_n_hops_up_and_down() {
        let g = graph("lb -> web -> api -> db -> disk\nworker -> queue");
        assert_eq!(ids(&g.neighbourhood(&"api".into(), 0)), ["api"]);
        assert_eq!(ids(&g.neighbourhood(&"api".into(), 1)), ["api", "db", "web"]);
        assert_eq!(ids(&g.neighbourhood(&"api".into(), 2)), ["api", "db", "disk", "lb", "web"]);
        assert_eq!(ids(&g.neighbourhood(&"api".into(), 9)), ["api", "db", "disk", "lb", "web"]);
        assert!(g.neighbourhood(&"missing".into(), 3).is_empty());
    }

    #[test]
    fn a_path_follows_dependencies_either_way_by_the_smallest_ids() {
        let g = graph("lb -> web -> db\nlb -> api -> db -> disk\nworker -> queue");
        let path = |a: &str, b: &str| g.path_between(&a.into(), &b.into()).map(|p| ids(&p).join(" "));
        assert_eq!(path("lb", "disk").as_deref(), Some("lb api db disk"));
        assert_eq!(path("disk", "lb").as_deref(), Some("disk db api lb"));
        assert_eq!(path("web", "api").as_deref(), Some("web db api"));
        assert_eq!(path("db", "db").as_deref(), Some("db"));
        assert_eq!(path("lb", "queue"), None);
        assert_eq!(path("lb", "missing"), None);
    }

    #[test]
    fn replication_does_not_propagate_failure() {
        let mut g = graph("app -> primary");
        g.add_twin(Twin::new("replica", TwinKind::Database)).ok();
        g.add_dependency(&"primary".into(), &"replica".into(), Dependency::new(EdgeKind::ReplicatesTo)).ok();
        assert!(g.blast_radius(&"replica".into()).is_empty());
        assert_eq!(ids(&g.blast_radius(&"primary".into())), ["app"]);
    }

    #[test]
    fn cycles_are_found() {
        let g = graph("a -> b -> c -> a\nc -> d");
        assert_eq!(g.cycles(), vec![vec!["a".into(), "b".into(), "c".into()]] as Vec<Vec<TwinId>>);
        assert!(graph("a -> b -> c").cycles().is_empty());
    }

    #[test]
    fn critical_path_takes_the_slowest_chain() {
        let g = graph("lb -> web -> db -> disk\nlb -> cache");
        let (path, total) = g.critical_path(&"lb".into()).unwrap_or_default();
        assert_eq!(ids(&path), ["lb", "web", "db", "disk"]);
        assert_eq!(total, 3.0);
        // Cycles terminate.
        let g = graph("a -> b -> a");
        assert!(g.critical_path(&"a".into()).is_some());
    }

    #[test]
    fn errors_on_duplicates_and_unknowns() {
        let mut g = graph("a -> b");
        assert_eq!(g.add_twin(Twin::new("a", TwinKind::Host)), Err(GraphError::DuplicateTwin("a".into())));
        assert_eq!(
            g.add_dependency(&"a".into(), &"zz".into(), Dependency::new(EdgeKind::DependsOn)),
            Err(GraphError::UnknownTwin("zz".into()))
        );
        assert!(matches!(
            g.add_dependency(&"a".into(), &"b".into(), Dependency::new(EdgeKind::DependsOn)),
            Err(GraphError::DuplicateEdge { .. })
        ));
        assert!(matches!(
            g.add_dependency(&"a".into(), &"a".into(), Dependency::new(EdgeKind::DependsOn)),
            Err(GraphError::SelfDependency(_))
        ));
    }

    #[test]
    fn communities_separate_loosely_linked_groups() {
        // b4 is tied to its group by two edges and to the other by one.
        let g = graph("a1 -> a2 -> a3\na1 -> a3\na2 -> a4\nb1 -> b2 -> b3\nb1 -> b3\nb2 -> b4\nb1 -> b4\na4 -> b4");
        let groups = g.communities();
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert!(groups[0].iter().all(|id| id.as_str().starts_with('a')));
        assert_eq!(g.communities(), groups);
        assert_eq!(graph("x -> y").communities().len(), 1);
    }

    #[test]
    fn levels_put_needs_below_and_hosts_at_the_bottom() {
        let mut g = graph("lb -> web -> db\nlb -> db\nworker -> db");
        g.add_twin(Twin::new("host", TwinKind::Host)).ok();
        g.add_dependency(&"db".into(), &"host".into(), Dependency::new(EdgeKind::RunsOn)).ok();
        let levels = g.levels();
        let at = |id: &str| levels[&TwinId::from(id)];
        assert_eq!((at("lb"), at("web"), at("db"), at("host")), (0, 1, 2, 3));
        // A worker needing only the database sits right above it.
        assert_eq!(at("worker"), 1);
        // Cycles terminate.
        assert_eq!(graph("a -> b -> a").levels().len(), 2);
    }
}
