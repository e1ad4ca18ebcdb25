//! Clustering: the backend (Redis or NATS), the channel prefix and how long
//! cluster-wide answers wait.

use super::DefaultValue::{Unset, Value};
use super::OptionSpec;

/// `--redis`.
pub const REDIS: OptionSpec = OptionSpec::one(
    "redis",
    "SWITCHBOARD_REDIS",
    "URL",
    Unset("no cluster"),
    "Join a cluster over Redis pub/sub at this URL (redis://[user:pass@]host:port[/db])",
)
.secret()
.conflicts_with("nats");

/// `--nats`.
pub const NATS: OptionSpec = OptionSpec::one(
    "nats",
    "SWITCHBOARD_NATS",
    "URL",
    Unset("no cluster"),
    "Join a cluster over NATS at this URL (nats://[user:pass@]host:port, or \
     several servers separated by commas)",
)
.secret();

/// `--cluster-prefix`.
pub const CLUSTER_PREFIX: OptionSpec = OptionSpec::one(
    "cluster_prefix",
    "SWITCHBOARD_CLUSTER_PREFIX",
    "NAME",
    Value("switchboard"),
    "Channel prefix of the cluster: nodes with the same prefix on the same \
     backend form one cluster",
);

/// `--cluster-timeout`.
pub const CLUSTER_TIMEOUT: OptionSpec = OptionSpec::one(
    "cluster_timeout",
    "SWITCHBOARD_CLUSTER_TIMEOUT",
    "DURATION",
    Value("1s"),
    "How long cluster-wide answers (room members, stats, kicks) wait for the other nodes",
);
