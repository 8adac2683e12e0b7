//! The schedule rule groups: providers that share a schedule share a rule.

use super::{BTreeMap, Checker, Provider, RuleGroup, names};

impl Checker<'_> {
    pub(super) fn rule_groups(
        &mut self,
        providers: &BTreeMap<String, Provider>,
        stage: &str,
    ) -> Vec<RuleGroup> {
        let mut by_schedule: BTreeMap<&str, Vec<&Provider>> = BTreeMap::new();
        for provider in providers.values() {
            by_schedule
                .entry(provider.schedule.expression())
                .or_default()
                .push(provider);
        }
        let mut groups: Vec<RuleGroup> = by_schedule
            .into_values()
            .map(|members| rule_group(&members, stage))
            .collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        self.rule_names(&groups);
        groups
    }

    /// Each group's rule name fits EventBridge's limit, and no two groups share one.
    fn rule_names(&mut self, groups: &[RuleGroup]) {
        for group in groups {
            let field = format!("providers.{}.schedule", group.providers[0]);
            self.check(
                group.name.len() <= 64,
                &field,
                format!("the rule name `{}` is longer than EventBridge's 64 characters; use a shorter stage or provider name", group.name),
            );
        }
        for pair in groups.windows(2) {
            let field = format!("providers.{}.schedule", pair[1].providers[0]);
            self.check(
                pair[0].name != pair[1].name,
                &field,
                format!(
                    "`{}` and `{}` would both be rule `{}`; give these providers the same schedule",
                    pair[0].schedule, pair[1].schedule, pair[1].name
                ),
            );
        }
    }
}

/// The rule group of providers sharing a schedule, named after its rate (a cron schedule after
/// its providers).
fn rule_group(members: &[&Provider], stage: &str) -> RuleGroup {
    let schedule = members[0].schedule.clone();
    let label = schedule.rate_label().unwrap_or_else(|| {
        members
            .iter()
            .map(|p| names::provider_label(&p.name))
            .collect()
    });
    RuleGroup {
        name: names::rule_group_name(&label, stage),
        logical_id: format!("RefreshRule{label}"),
        schedule,
        providers: members.iter().map(|p| p.name.clone()).collect(),
    }
}
