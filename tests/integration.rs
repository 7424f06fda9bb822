
mod rule_packs;
mod prom_compare;
mod cli_check;
mod routing_amtool;
mod routing_cli;
mod routing_runbook;
mod cli_query;
mod datasource_http;
mod template_promtool;
mod support;
mod datasource_e2e;
