# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_mesos_operator_global_optspecs
    string join \n etcd= etcd-prefix= history-limit= etcd-user= etcd-password-file= etcd-cacert= etcd-cert= etcd-key= secrets-key-file= etcd-insecure log-format= h/help V/version
end

function __fish_mesos_operator_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_mesos_operator_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_mesos_operator_using_subcommand
    set -l cmd (__fish_mesos_operator_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -s V -l version -d 'Print version'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "validate" -d 'Validate a document (needs no etcd)'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "apply" -d 'Validate and store a document (create or update); prints the new generation'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "get" -d 'Show the stored desired state; without NAME, list clusters'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "status" -d 'Show the status the operator wrote'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "backup" -d 'Ask the running operator for a backup of ZooKeeper and the masters\' registry now (the document\'s spec.backup says where); it is taken as planned steps'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "backups" -d 'The backups recorded for a cluster, oldest first: time, reason, ZooKeeper\'s zxid and epoch, voters, the master whose log it holds, size and where'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "events" -d 'The steps the operator took for a cluster, newest first, with outcome and duration'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "bump" -d 'Set the image tag of one component'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "pause" -d 'Set spec.rollout.paused: the operator observes and reports but takes no step'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "resume" -d 'Clear spec.rollout.paused'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "history" -d 'List earlier specs'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "rollback" -d 'Store an earlier spec again, as a new generation'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "delete" -d 'Remove the desired state (spec, status, history). Containers and data stay, and so do the operator\'s record and the automation\'s denylist: re-applying is safe'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "run" -d 'The operator: reconcile every cluster in etcd until stopped (SIGTERM/SIGINT)'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "plan" -d 'Observe the hosts and print the steps the operator would take now; changes nothing'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "preflight" -d 'Run the host preflight checks of a cluster\'s hosts (check, host, result, the fix); exit 1 when a check failed'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "doctor" -d 'Explain a Blocked or Degraded cluster: failing checks, container logs, probes, the last failed step, the leader views, in one report (secrets redacted)'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "secret" -d 'Manage secret material (TLS keys, ZooKeeper digests)'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "autoupdate" -d 'Automated version bumps: the tags seen, resuming a pinned component, the denylist'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "record" -d 'The operator\'s record: decisions only a person can make (`forget-host`)'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "approve" -d 'Approve a tag for a component whose policy has `requireApproval`'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "schema" -d 'Print the JSON Schema of the document'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "version" -d 'Print the version, the commit and the build time (needs no etcd)'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "completions" -d 'Print the shell completion script (needs no etcd), e.g. `mesos-operator completions bash > /etc/bash_completion.d/mesos-operator`'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "man-pages" -d 'Write the man pages, one per command, into DIR (needs no etcd)'
complete -c mesos-operator -n "__fish_mesos_operator_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -s f -l file -d 'The document, YAML or JSON; `-` reads standard input' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -s f -l file -d 'The document, YAML or JSON; `-` reads standard input' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -l dry-run -d 'Show what would change; write nothing'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -s o -l output -d 'Output format (default: yaml for one cluster, table for the list)' -r -f -a "table\t'A table for people'
yaml\t'YAML'
json\t'JSON, stable for scripts'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -s o -l output -d 'Output format' -r -f -a "table\t'A table for people'
yaml\t'YAML'
json\t'JSON, stable for scripts'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l until -d 'With --watch: exit 0 once the cluster reaches this phase (e.g. Converged) for the current generation' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l timeout -d 'With --watch: give up (exit 1) after this many seconds' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l watch -d 'Keep printing the status each time the operator writes it'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backup" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backup" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backup" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backup" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backup" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backup" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backup" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backup" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backup" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backup" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backup" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -s o -l output -d 'Output format' -r -f -a "table\t'A table for people'
yaml\t'YAML'
json\t'JSON, stable for scripts'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand backups" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -s o -l output -d 'Output format' -r -f -a "table\t'A table for people'
yaml\t'YAML'
json\t'JSON, stable for scripts'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand events" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand bump" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand bump" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand bump" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand bump" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand bump" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand bump" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand bump" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand bump" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand bump" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand bump" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand bump" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand bump" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand pause" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand pause" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand pause" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand pause" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand pause" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand pause" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand pause" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand pause" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand pause" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand pause" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand pause" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand pause" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand resume" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand resume" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand resume" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand resume" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand resume" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand resume" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand resume" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand resume" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand resume" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand resume" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand resume" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand resume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -s o -l output -d 'Output format' -r -f -a "table\t'A table for people'
yaml\t'YAML'
json\t'JSON, stable for scripts'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -l to -d 'Generation to go back to (default: the previous one)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand rollback" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l timeout -d 'With --cascade: how many seconds to wait for the operator' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l cascade -d 'Also remove the cluster\'s containers (the load balancer, DNS, Marathon, agents, masters, ZooKeeper), carried out by the running operator; waits until it is done. The data volumes stay unless --purge-data'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l purge-data -d 'With --cascade: remove the data volumes too (ZooKeeper\'s data, the masters\' replicated logs) and every key of the cluster. Cannot be undone'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l metrics-addr -d 'Address of /metrics, /healthz and /readyz' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l secrets-dir -d 'Read secrets from DIR/<name> files instead of etcd' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l concurrency -d 'Clusters reconciled at once' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l resync-secs -d 'Seconds between looks at a converged cluster when nothing changes in etcd, while some of its hosts\' Docker event streams are not open' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l resync-watched-secs -d 'The same while every host\'s Docker event stream is open (a container that changes wakes the cluster at once); never shorter than --resync-secs' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l poll-ms -d 'Longest time in milliseconds between looks at a cluster waiting on a health gate (the first look after a step comes after 100 ms, each next one half as far again)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l shutdown-grace-secs -d 'Seconds a running step may take to finish after SIGTERM before it is abandoned' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l identity -d 'This replica\'s name in the leader election (default: host name and process id)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l lease-ttl-secs -d 'Seconds the leadership lease lives without renewal (etcd grants leases in whole seconds: a fraction is rounded up before the election\'s timings are checked)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l renew-deadline-secs -d 'Seconds without a successful renewal after which the leader stops acting (below the lease TTL)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l election-retry-secs -d 'Seconds between renewals, and between a standby\'s attempts' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -s o -l output -d 'Output format' -r -f -a "table\t'A table for people'
yaml\t'YAML'
json\t'JSON, stable for scripts'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -l secrets-dir -d 'Read secrets from DIR/<name> files instead of etcd' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l host -d 'Only this host (a name from spec.hosts)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -s o -l output -d 'Output format' -r -f -a "table\t'A table for people'
yaml\t'YAML'
json\t'JSON, stable for scripts'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l secrets-dir -d 'Read secrets from DIR/<name> files instead of etcd' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand preflight" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -l secrets-dir -d 'Read secrets from DIR/<name> files instead of etcd' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -f -a "set" -d 'Store a secret from a file (`-` reads standard input)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -f -a "scope" -d 'Set which clusters may use a secret, for what, and towards which addresses'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -f -a "list" -d 'List secret names, sizes, revisions and how each is stored (never values)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -f -a "delete" -d 'Delete a secret'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -f -a "reencrypt" -d 'Encrypt every secret with the first key of --secrets-key-file (needed)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and not __fish_seen_subcommand_from set scope list delete reencrypt help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l from-file -d 'The file holding the material' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l clusters -d 'Clusters that may use it, comma-separated (`*`: any)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l uses -d 'What for, comma-separated: docker-tls, registry-ca, registry-credentials, zookeeper-digest, component-file, http-credentials, backup-credentials' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l hosts -d 'Addresses it may travel to, comma-separated (as the documents write them: the Docker endpoint\'s host, the host\'s address, the registry\'s host); default any' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l clusters -d 'Clusters that may use it, comma-separated (`*`: any)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l uses -d 'What for, comma-separated: docker-tls, registry-ca, registry-credentials, zookeeper-digest, component-file, http-credentials, backup-credentials' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l hosts -d 'Addresses it may travel to, comma-separated (as the documents write them: the Docker endpoint\'s host, the host\'s address, the registry\'s host); default any' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l unscoped -d 'Remove the scope: any document may use the secret again'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from scope" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -s o -l output -d 'JSON output' -r -f -a "table\t''
json\t''"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from delete" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from delete" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from delete" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from delete" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from delete" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from delete" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from delete" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from delete" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from delete" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from delete" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from delete" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from reencrypt" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from reencrypt" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from reencrypt" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from reencrypt" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from reencrypt" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from reencrypt" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from reencrypt" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from reencrypt" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from reencrypt" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from reencrypt" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from reencrypt" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from reencrypt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "set" -d 'Store a secret from a file (`-` reads standard input)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "scope" -d 'Set which clusters may use a secret, for what, and towards which addresses'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "list" -d 'List secret names, sizes, revisions and how each is stored (never values)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a secret'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "reencrypt" -d 'Encrypt every secret with the first key of --secrets-key-file (needed)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -f -a "list" -d 'The tags the operator found per component, with each one\'s verdict'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -f -a "resume" -d 'Let the automation move a component again after a person\'s edit pinned it'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -f -a "allow" -d 'Take a tag off a component\'s denylist, so that the automation may try it again'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and not __fish_seen_subcommand_from list resume allow help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format' -r -f -a "table\t'A table for people'
yaml\t'YAML'
json\t'JSON, stable for scripts'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from resume" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from resume" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from resume" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from resume" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from resume" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from resume" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from resume" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from resume" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from resume" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from resume" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from resume" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from resume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from allow" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from allow" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from allow" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from allow" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from allow" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from allow" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from allow" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from allow" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from allow" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from allow" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from allow" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from allow" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from help" -f -a "list" -d 'The tags the operator found per component, with each one\'s verdict'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from help" -f -a "resume" -d 'Let the automation move a component again after a person\'s edit pinned it'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from help" -f -a "allow" -d 'Take a tag off a component\'s denylist, so that the automation may try it again'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand autoupdate; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -f -a "forget-host" -d 'Forget a host that once held a master or Marathon of the cluster and is gone for good (its disk wiped or the machine retired), so that it stops counting for the masters\' ceiling and holding Marathon\'s version changes. Refused while the host is in the document: the operator can see it there'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and not __fish_seen_subcommand_from forget-host help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from forget-host" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from forget-host" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from forget-host" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from forget-host" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from forget-host" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from forget-host" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from forget-host" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from forget-host" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from forget-host" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from forget-host" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from forget-host" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from forget-host" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from help" -f -a "forget-host" -d 'Forget a host that once held a master or Marathon of the cluster and is gone for good (its disk wiped or the machine retired), so that it stops counting for the masters\' ceiling and holding Marathon\'s version changes. Refused while the host is in the document: the operator can see it there'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand record; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand approve" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand approve" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand approve" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand approve" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand approve" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand approve" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand approve" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand approve" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand approve" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand approve" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand approve" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand approve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand schema" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand schema" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand schema" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand schema" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand schema" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand schema" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand schema" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand schema" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand schema" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand schema" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand schema" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand schema" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand version" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand version" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand version" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand version" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand version" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand version" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand version" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand version" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand version" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand version" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand version" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand version" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand completions" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand completions" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand completions" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand completions" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand completions" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand completions" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand completions" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand completions" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand completions" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand completions" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand completions" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand man-pages" -l etcd -d 'etcd endpoints, comma-separated' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand man-pages" -l etcd-prefix -d 'Key prefix for everything the operator stores' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand man-pages" -l history-limit -d 'Earlier generations kept per cluster for `history` and `rollback` (older ones are pruned as new ones are written)' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand man-pages" -l etcd-user -d 'etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file' -r
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand man-pages" -l etcd-password-file -d 'File holding the etcd password (never pass a password on the command line)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand man-pages" -l etcd-cacert -d 'CA certificate (PEM) for etcd\'s TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand man-pages" -l etcd-cert -d 'Client certificate (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand man-pages" -l etcd-key -d 'Client key (PEM) for etcd\'s mutual TLS' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand man-pages" -l secrets-key-file -d 'Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old line. The file must be private to its owner (`chmod 600`)' -r -F
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand man-pages" -l log-format -d 'Log format on standard error' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand man-pages" -l etcd-insecure -d 'Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd password then cross the network in clear'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand man-pages" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "validate" -d 'Validate a document (needs no etcd)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "apply" -d 'Validate and store a document (create or update); prints the new generation'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "get" -d 'Show the stored desired state; without NAME, list clusters'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "status" -d 'Show the status the operator wrote'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "backup" -d 'Ask the running operator for a backup of ZooKeeper and the masters\' registry now (the document\'s spec.backup says where); it is taken as planned steps'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "backups" -d 'The backups recorded for a cluster, oldest first: time, reason, ZooKeeper\'s zxid and epoch, voters, the master whose log it holds, size and where'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "events" -d 'The steps the operator took for a cluster, newest first, with outcome and duration'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "bump" -d 'Set the image tag of one component'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "pause" -d 'Set spec.rollout.paused: the operator observes and reports but takes no step'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "resume" -d 'Clear spec.rollout.paused'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "history" -d 'List earlier specs'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "rollback" -d 'Store an earlier spec again, as a new generation'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "delete" -d 'Remove the desired state (spec, status, history). Containers and data stay, and so do the operator\'s record and the automation\'s denylist: re-applying is safe'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "run" -d 'The operator: reconcile every cluster in etcd until stopped (SIGTERM/SIGINT)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "plan" -d 'Observe the hosts and print the steps the operator would take now; changes nothing'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "preflight" -d 'Run the host preflight checks of a cluster\'s hosts (check, host, result, the fix); exit 1 when a check failed'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "doctor" -d 'Explain a Blocked or Degraded cluster: failing checks, container logs, probes, the last failed step, the leader views, in one report (secrets redacted)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "secret" -d 'Manage secret material (TLS keys, ZooKeeper digests)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "autoupdate" -d 'Automated version bumps: the tags seen, resuming a pinned component, the denylist'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "record" -d 'The operator\'s record: decisions only a person can make (`forget-host`)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "approve" -d 'Approve a tag for a component whose policy has `requireApproval`'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "schema" -d 'Print the JSON Schema of the document'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "version" -d 'Print the version, the commit and the build time (needs no etcd)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "completions" -d 'Print the shell completion script (needs no etcd), e.g. `mesos-operator completions bash > /etc/bash_completion.d/mesos-operator`'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "man-pages" -d 'Write the man pages, one per command, into DIR (needs no etcd)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and not __fish_seen_subcommand_from validate apply get status backup backups events bump pause resume history rollback delete run plan preflight doctor secret autoupdate record approve schema version completions man-pages help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "set" -d 'Store a secret from a file (`-` reads standard input)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "scope" -d 'Set which clusters may use a secret, for what, and towards which addresses'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "list" -d 'List secret names, sizes, revisions and how each is stored (never values)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "delete" -d 'Delete a secret'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "reencrypt" -d 'Encrypt every secret with the first key of --secrets-key-file (needed)'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and __fish_seen_subcommand_from autoupdate" -f -a "list" -d 'The tags the operator found per component, with each one\'s verdict'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and __fish_seen_subcommand_from autoupdate" -f -a "resume" -d 'Let the automation move a component again after a person\'s edit pinned it'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and __fish_seen_subcommand_from autoupdate" -f -a "allow" -d 'Take a tag off a component\'s denylist, so that the automation may try it again'
complete -c mesos-operator -n "__fish_mesos_operator_using_subcommand help; and __fish_seen_subcommand_from record" -f -a "forget-host" -d 'Forget a host that once held a master or Marathon of the cluster and is gone for good (its disk wiped or the machine retired), so that it stops counting for the masters\' ceiling and holding Marathon\'s version changes. Refused while the host is in the document: the operator can see it there'
