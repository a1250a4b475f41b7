//! Remediation actions. An [`ActionKind`] is what a policy binds ("scale the disk up by
//! 25%"); applied to a twin it changes the twin's configuration or capacity, takes a
//! modeled time, costs something and carries a risk, and (for most kinds) has an
//! inverse that rolls it back.

use std::collections::BTreeMap;
use std::fmt;

use crate::model::{ConfigValue, Twin, TwinId};

/// A resource that vertical scaling changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// CPU cores (`cpu_usage` scales inversely).
    Cpu,
    /// Memory (`memory_usage`).
    Memory,
    /// Disk (`disk_usage`).
    Disk,
}

impl Resource {
    /// Every resource.
    pub const ALL: [Resource; 3] = [Resource::Cpu, Resource::Memory, Resource::Disk];

    /// Name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
            Resource::Disk => "disk",
        }
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The utilisation metric this resource's capacity divides.
    pub fn metric(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu_usage",
            Resource::Memory => "memory_usage",
            Resource::Disk => "disk_usage",
        }
    }

    /// Monthly cost of one unit (core or GiB), in cost units.
    pub fn unit_cost(self) -> f64 {
        match self {
            Resource::Cpu => 25.0,
            Resource::Memory => 4.0,
            Resource::Disk => 0.1,
        }
    }
}

/// What a remediation does.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    /// Set configuration keys (an empty map restores the desired values of drifted keys).
    Reconfigure {
        /// Keys and their new values.
        set: BTreeMap<String, ConfigValue>,
    },
    /// Vertical scale-up: capacity × `factor` (> 1).
    ScaleUp {
        /// Which resource.
        resource: Resource,
        /// Multiplier, > 1.
        factor: f64,
    },
    /// Vertical scale-down: capacity ÷ `factor` (> 1).
    ScaleDown {
        /// Which resource.
        resource: Resource,
        /// Divider, > 1.
        factor: f64,
    },
    /// Horizontal scale-out: add replicas.
    ScaleOut {
        /// Replicas to add (≥ 1).
        replicas: u32,
    },
    /// Horizontal scale-in: remove replicas.
    ScaleIn {
        /// Replicas to remove (≥ 1).
        replicas: u32,
    },
    /// Move the twin's workload to another host (`None`: the least loaded host).
    Migrate {
        /// Target host.
        to: Option<TwinId>,
    },
    /// Restart the twin (clears leaks; down for the duration).
    Restart,
    /// Tell administrators: recorded in the plan; `plan --alertmanager` delivers the approved ones.
    Notify {
        /// Who.
        to: String,
    },
}

impl ActionKind {
    /// The kind's name in files and logs.
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::Reconfigure { .. } => "reconfigure",
            ActionKind::ScaleUp { .. } => "scale_up",
            ActionKind::ScaleDown { .. } => "scale_down",
            ActionKind::ScaleOut { .. } => "scale_out",
            ActionKind::ScaleIn { .. } => "scale_in",
            ActionKind::Migrate { .. } => "migrate",
            ActionKind::Restart => "restart",
            ActionKind::Notify { .. } => "notify",
        }
    }

    /// Modeled time until the action has taken effect, in seconds.
    pub fn duration_secs(&self) -> i64 {
        match self {
            ActionKind::Reconfigure { .. } => 60,
            ActionKind::ScaleUp { .. } | ActionKind::ScaleDown { .. } => 600,
            ActionKind::ScaleOut { .. } | ActionKind::ScaleIn { .. } => 300,
            ActionKind::Migrate { .. } => 1800,
            ActionKind::Restart => 120,
            ActionKind::Notify { .. } => 0,
        }
    }

    /// Risk in [0, 1]: the chance the action itself causes trouble (restarts drop
    /// connections, migrations move state, scale-downs remove headroom).
    pub fn risk(&self) -> f64 {
        match self {
            ActionKind::Notify { .. } => 0.0,
            ActionKind::ScaleOut { .. } => 0.1,
            ActionKind::Reconfigure { .. } => 0.15,
            ActionKind::ScaleUp { .. } => 0.2,
            ActionKind::ScaleDown { .. } | ActionKind::ScaleIn { .. } => 0.25,
            ActionKind::Restart => 0.3,
            ActionKind::Migrate { .. } => 0.4,
        }
    }

    /// Change of monthly cost when applied to `twin` (negative saves).
    pub fn monthly_cost(&self, twin: &Twin) -> f64 {
        let c = &twin.capacity;
        let have = |r: Resource| match r {
            Resource::Cpu => c.cpu_cores.unwrap_or(2.0),
            Resource::Memory => c.memory_gib.unwrap_or(4.0),
            Resource::Disk => c.disk_gib.unwrap_or(100.0),
        };
        let replica = c.cpu_cores.unwrap_or(2.0) * Resource::Cpu.unit_cost()
            + c.memory_gib.unwrap_or(4.0) * Resource::Memory.unit_cost();
        match self {
            ActionKind::ScaleUp { resource, factor } => have(*resource) * (factor - 1.0) * resource.unit_cost(),
            ActionKind::ScaleDown { resource, factor } => {
                -have(*resource) * (1.0 - 1.0 / factor) * resource.unit_cost()
            }
            ActionKind::ScaleOut { replicas } => f64::from(*replicas) * replica,
            ActionKind::ScaleIn { replicas } => -f64::from(*replicas) * replica,
            ActionKind::Migrate { .. } => 50.0,
            ActionKind::Reconfigure { .. } | ActionKind::Restart | ActionKind::Notify { .. } => 0.0,
        }
    }

    /// Checks the parameters, with a message for the user.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            ActionKind::ScaleUp { factor, .. } | ActionKind::ScaleDown { factor, .. } => {
                if factor.is_finite() && *factor > 1.0 && *factor <= 16.0 {
                    Ok(())
                } else {
                    Err(format!("{}: factor must be above 1 and at most 16, not {factor}", self.name()))
                }
            }
            ActionKind::ScaleOut { replicas } | ActionKind::ScaleIn { replicas } => {
                if (1..=100).contains(replicas) {
                    Ok(())
                } else {
                    Err(format!("{}: replicas must be between 1 and 100, not {replicas}", self.name()))
                }
            }
            ActionKind::Notify { to } if to.trim().is_empty() => Err("notify: `to` is empty".into()),
            _ => Ok(()),
        }
    }

    /// The action that undoes this one on `twin` (as it is before the action), or
    /// `None` when it cannot be undone (a restart, a notification).
    pub fn inverse(&self, twin: &Twin, host: Option<&TwinId>) -> Option<ActionKind> {
        match self {
            ActionKind::ScaleUp { resource, factor } => {
                Some(ActionKind::ScaleDown { resource: *resource, factor: *factor })
            }
            ActionKind::ScaleDown { resource, factor } => {
                Some(ActionKind::ScaleUp { resource: *resource, factor: *factor })
            }
            ActionKind::ScaleOut { replicas } => Some(ActionKind::ScaleIn { replicas: *replicas }),
            ActionKind::ScaleIn { replicas } => Some(ActionKind::ScaleOut { replicas: *replicas }),
            ActionKind::Reconfigure { set } => {
                // Keys the twin lacked cannot be "set back" to absent by Reconfigure;
                // they are left as set (documented limitation of the inverse).
                let before: BTreeMap<String, ConfigValue> =
                    set.keys().filter_map(|k| twin.config.get(k).map(|v| (k.clone(), v.clone()))).collect();
                Some(ActionKind::Reconfigure { set: before })
            }
            ActionKind::Migrate { .. } => host.map(|h| ActionKind::Migrate { to: Some(h.clone()) }),
            ActionKind::Restart | ActionKind::Notify { .. } => None,
        }
    }

    /// Applies the action's state change to a twin (configuration and capacity).
    /// Returns what changed, field by field with typed values, for plans.
    pub fn apply(&self, twin: &mut Twin) -> Vec<FieldChange> {
        let mut changes = Vec::new();
        let mut scale = |name: &str, value: &mut Option<f64>, factor: f64, default: f64| {
            let before = value.unwrap_or(default);
            let after = (before * factor * 100.0).round() / 100.0;
            *value = Some(after);
            changes.push(FieldChange::new(
                format!("capacity.{name}"),
                Some(ConfigValue::Float(before)),
                Some(ConfigValue::Float(after)),
            ));
        };
        match self {
            ActionKind::ScaleUp { resource, factor } | ActionKind::ScaleDown { resource, factor } => {
                let f = if matches!(self, ActionKind::ScaleUp { .. }) { *factor } else { 1.0 / factor };
                let c = &mut twin.capacity;
                match resource {
                    Resource::Cpu => scale("cpu_cores", &mut c.cpu_cores, f, 2.0),
                    Resource::Memory => scale("memory_gib", &mut c.memory_gib, f, 4.0),
                    Resource::Disk => scale("disk_gib", &mut c.disk_gib, f, 100.0),
                }
            }
            ActionKind::ScaleOut { replicas } | ActionKind::ScaleIn { replicas } => {
                let before = twin.capacity.replicas.unwrap_or(1);
                let after = if matches!(self, ActionKind::ScaleOut { .. }) {
                    before.saturating_add(*replicas)
                } else {
                    before.saturating_sub(*replicas).max(1)
                };
                twin.capacity.replicas = Some(after);
                changes.push(FieldChange::new(
                    "capacity.replicas",
                    Some(ConfigValue::Int(i64::from(before))),
                    Some(ConfigValue::Int(i64::from(after))),
                ));
            }
            ActionKind::Reconfigure { set } => {
                for (key, value) in set {
                    let before = twin.config.insert(key.clone(), value.clone());
                    changes.push(FieldChange::new(format!("config.{key}"), before, Some(value.clone())));
                }
            }
            ActionKind::Migrate { to } => changes.push(FieldChange::text(
                "placement",
                Some("current host"),
                &to.as_ref().map_or("least loaded host".into(), ToString::to_string),
            )),
            ActionKind::Restart => changes.push(FieldChange::text("process", Some("running"), "restarted")),
            ActionKind::Notify { to } => {
                changes.push(FieldChange::text("notification", None, &format!("sent to {to}")))
            }
        }
        changes
    }
}

/// One field an action changes on a twin, with typed values: capacities are numbers
/// (`Float` cores and GiB, `Int` replicas), configuration keys keep their own type,
/// and what is not a setting (placement, the process, a notification) is text.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldChange {
    /// `capacity.disk_gib`, `config.max_connections`, `placement`, `process`, `notification`.
    pub field: String,
    /// The value before (`None`: the field was absent).
    pub before: Option<ConfigValue>,
    /// The value after (`None`: the field is absent afterwards).
    pub after: Option<ConfigValue>,
}

impl FieldChange {
    /// A change of `field` from `before` to `after`.
    pub fn new(field: impl Into<String>, before: Option<ConfigValue>, after: Option<ConfigValue>) -> Self {
        Self { field: field.into(), before, after }
    }

    /// A change between two texts.
    pub fn text(field: &str, before: Option<&str>, after: &str) -> Self {
        Self::new(field, before.map(|b| ConfigValue::Str(b.into())), Some(ConfigValue::Str(after.into())))
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionKind::Reconfigure { set } if set.is_empty() => f.write_str("restore desired configuration"),
            ActionKind::Reconfigure { set } => {
                let parts: Vec<String> = set.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                write!(f, "reconfigure {}", parts.join(", "))
            }
            ActionKind::ScaleUp { resource, factor } => write!(f, "scale {} up ×{factor}", resource.as_str()),
            ActionKind::ScaleDown { resource, factor } => write!(f, "scale {} down ÷{factor}", resource.as_str()),
            ActionKind::ScaleOut { replicas } => write!(f, "add {replicas} replica(s)"),
            ActionKind::ScaleIn { replicas } => write!(f, "remove {replicas} replica(s)"),
            ActionKind::Migrate { to: Some(to) } => write!(f, "migrate to {to}"),
            ActionKind::Migrate { to: None } => f.write_str("migrate to the least loaded host"),
            ActionKind::Restart => f.write_str("restart"),
            ActionKind::Notify { to } => write!(f, "notify {to}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TwinKind;

    fn db() -> Twin {
        let mut t = Twin::new("db", TwinKind::Database);
        t.capacity.disk_gib = Some(1000.0);
        t.capacity.cpu_cores = Some(8.0);
        t.config.insert("max_connections".into(), ConfigValue::Int(200));
        t
    }

    #[test]
    fn scaling_changes_capacity_and_its_inverse_restores_it() {
        let mut twin = db();
        let up = ActionKind::ScaleUp { resource: Resource::Disk, factor: 1.25 };
        assert_eq!(up.monthly_cost(&twin), 25.0);
        let inverse = up.inverse(&twin, None).unwrap();
        let changes = up.apply(&mut twin);
        let disk = |gib| Some(ConfigValue::Float(gib));
        assert_eq!(changes, vec![FieldChange::new("capacity.disk_gib", disk(1000.0), disk(1250.0))]);
        inverse.apply(&mut twin);
        assert_eq!(twin.capacity.disk_gib, Some(1000.0));
    }

    #[test]
    fn reconfigure_inverse_sets_the_old_values() {
        let mut twin = db();
        let set = BTreeMap::from([("max_connections".to_string(), ConfigValue::Int(500))]);
        let action = ActionKind::Reconfigure { set };
        let inverse = action.inverse(&twin, None).unwrap();
        action.apply(&mut twin);
        assert_eq!(twin.config["max_connections"], ConfigValue::Int(500));
        inverse.apply(&mut twin);
        assert_eq!(twin.config["max_connections"], ConfigValue::Int(200));
        assert!(ActionKind::Restart.inverse(&twin, None).is_none());
    }

    #[test]
    fn parameters_are_validated() {
        assert!(ActionKind::ScaleUp { resource: Resource::Cpu, factor: 0.5 }.validate().is_err());
        assert!(ActionKind::ScaleOut { replicas: 0 }.validate().is_err());
        assert!(ActionKind::Notify { to: " ".into() }.validate().is_err());
        assert!(ActionKind::Restart.validate().is_ok());
    }
}
