
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
mod cli_test;
mod promtool_fixtures;
mod state_cron;
mod canary_cli;
mod service_support;
mod service_run;
