
mod rule_packs;
mod prom_compare;
mod cli_check;
