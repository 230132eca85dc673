//! The files that ship with azth but cannot run here (no Docker engine, no
//! systemd): the Dockerfile, deploy/docker-compose.yml, deploy/azth.service,
//! azth.example.yaml and docs/CONFIGURATION.md are parsed and checked
//! against the binary and the configuration they describe, so they cannot
//! drift from them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use azth_server::Config;
use azth_server::config::{NAMED_VARIABLES, known_keys};

fn repo(path: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The environment name of a configuration key.
fn env_name(key: &str) -> String {
    NAMED_VARIABLES
        .iter()
        .find(|(_, k)| *k == key)
        .map(|(n, _)| (*n).to_owned())
        .unwrap_or_else(|| format!("AZTH_{}", key.to_uppercase().replace('.', "__")))
}

/// Every variable azth understands (both forms).
fn valid_variables() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = known_keys().iter().map(|k| env_name(k)).collect();
    names.extend(known_keys().iter().map(|k| format!("AZTH_{}", k.to_uppercase().replace('.', "__"))));
    names
}

/// Every `AZTH_…` word in `text`.
fn mentioned_variables(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("AZTH_") && w.len() > 5)
        .map(str::to_owned)
        .collect()
}

fn assert_variables_exist(file: &str, text: &str) {
    let valid = valid_variables();
    for name in mentioned_variables(text) {
        assert!(valid.contains(&name), "{file} names {name}, which azth does not read");
    }
}

#[test]
fn the_configuration_reference_lists_exactly_the_keys_of_the_config() {
    let doc = repo("docs/CONFIGURATION.md");
    let documented: BTreeSet<String> =
        doc.lines().filter(|l| l.starts_with("| `")).map(|l| l.split('`').nth(1).unwrap().to_owned()).collect();
    let keys: BTreeSet<String> = known_keys().into_iter().collect();
    assert_eq!(documented, keys, "docs/CONFIGURATION.md and the Config struct disagree");
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let key = line.split('`').nth(1).unwrap();
        let env = line.split('`').nth(3).unwrap();
        assert_eq!(env, env_name(key), "{key}");
    }
}

#[test]
fn the_example_file_holds_every_key_with_its_default_and_loads() {
    let text = repo("azth.example.yaml");
    for key in known_keys() {
        let leaf = key.rsplit('.').next().unwrap();
        assert!(text.lines().any(|l| l.trim_start().starts_with(&format!("{leaf}:"))), "{key} missing");
        assert!(text.contains(&env_name(&key)), "{key}: its variable is not mentioned");
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../azth.example.yaml");
    let (config, warnings) = Config::load_from(Some(&path), Vec::new()).expect("the example loads");
    assert!(warnings.is_empty());
    assert_eq!(config.masked_json(), Config::default().masked_json(), "the example shows the defaults");
}

#[test]
fn the_dockerfile_builds_the_binary_and_runs_it_as_non_root() {
    let text = repo("Dockerfile");
    assert!(text.contains("cargo build --release --locked -p azth"));
    assert!(text.matches("FROM ").count() >= 2, "multi-stage");
    assert!(text.contains("COPY --from=build /src/target/release/azth /usr/local/bin/azth"));
    let user = text.lines().find_map(|l| l.strip_prefix("USER ")).expect("a USER line");
    assert!(!matches!(user.trim(), "root" | "0"), "runs as non-root");
    assert!(text.contains("EXPOSE 8080") && text.contains("AZTH_LISTEN=0.0.0.0:8080"));
    assert!(text.contains(r#"ENTRYPOINT ["/usr/local/bin/azth"]"#) && text.contains(r#"CMD ["serve"]"#));
    assert_variables_exist("Dockerfile", &text);
}

#[test]
fn the_compose_file_wires_postgres_redis_and_azth() {
    let text = repo("deploy/docker-compose.yml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    let services = doc["services"].as_mapping().unwrap();
    for name in ["postgres", "redis", "azth"] {
        assert!(services.contains_key(name), "{name} service");
    }
    let azth = &doc["services"]["azth"];
    let env = azth["environment"].as_mapping().unwrap();
    let valid = valid_variables();
    for (k, _) in env {
        let k = k.as_str().unwrap();
        assert!(valid.contains(k), "{k} is not read by azth");
    }
    assert!(env.get("AZTH_DATABASE_URL").unwrap().as_str().unwrap().starts_with("postgres://"));
    assert!(env.get("AZTH_REDIS_URL").unwrap().as_str().unwrap().starts_with("redis://"));
    assert_eq!(azth["ports"][0].as_str(), Some("8080:8080"));
    assert!(azth["depends_on"].as_mapping().unwrap().contains_key("postgres"));
}

#[test]
fn the_systemd_unit_runs_azth_serve_as_its_own_user() {
    let text = repo("deploy/azth.service");
    for line in ["ExecStart=/usr/local/bin/azth serve", "User=azth", "KillSignal=SIGTERM", "NoNewPrivileges=true"] {
        assert!(text.lines().any(|l| l.trim() == line), "{line} missing");
    }
    assert_variables_exist("deploy/azth.service", &text);
    // Stopping waits longer than azth's own drain deadline.
    let stop: u64 = text.lines().find_map(|l| l.strip_prefix("TimeoutStopSec=")).unwrap().parse().unwrap();
    assert!(stop > Config::default().http.shutdown_grace_secs);
}
