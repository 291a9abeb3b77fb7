# bash completion for nylon: commands, each command's flags, and flag values (files, backends, interfaces).
#
#   install -m 0644 contrib/completion/nylon.bash /usr/share/bash-completion/completions/nylon
#   # or, for one shell: source contrib/completion/nylon.bash
#
# Commands and flags are nylon's (reference CLI: key, genkey, pubkey, run, status, probe, reload, trace, version,
# seal, open, verify) plus this implementation's run flags (--shards, --io, --aead, --no-offload). Keep it in step
# with src/cli/*.c.

_nylon_interfaces() {
	# Running nylon (and WireGuard) interfaces: their control sockets.
	local s
	for s in /var/run/wireguard/*.sock; do
		[[ -e "$s" ]] || continue
		s=${s##*/}
		printf '%s\n' "${s%.sock}"
	done
}

_nylon() {
	local cur prev cmd i
	local commands="key genkey pubkey run status probe reload trace version seal open verify help"
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}

	# The command is the first word that is not a flag.
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} != -* ]]; then
			cmd=${COMP_WORDS[i]}
			break
		fi
	done
	[[ $cmd == v ]] && cmd=version

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "--help -h" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
		fi
		return 0
	fi

	# Flag values.
	case $cmd:$prev in
	run:-c | run:--config | run:-n | run:--node | seal:-c | seal:--config | verify:--node)
		_nylon_files '@(yaml|yml)'
		return 0
		;;
	run:-l | run:--log | seal:-o | seal:--output | seal:-k | seal:--key | open:-i | open:--input)
		_nylon_files
		return 0
		;;
	run:--io)
		mapfile -t COMPREPLY < <(compgen -W "auto io_uring epoll" -- "$cur")
		return 0
		;;
	run:--aead)
		mapfile -t COMPREPLY < <(compgen -W "openssl sodium" -- "$cur")
		return 0
		;;
	run:--shards | probe:--timeout)
		return 0
		;;
	status:-i | status:--interface | probe:-i | probe:--interface | reload:-i | reload:--interface | \
		trace:-i | trace:--interface)
		mapfile -t COMPREPLY < <(compgen -W "$(_nylon_interfaces)" -- "$cur")
		return 0
		;;
	reload:--file)
		_nylon_files '@(yaml|yml)'
		return 0
		;;
	esac

	local flags="-h --help"
	case $cmd in
	run)
		flags+=" -c --config -n --node -l --log -v --verbose -j --json -p --dbg-probe -w --dbg-wg --dbg-repo"
		flags+=" --dbg-perf --dbg-trace --dbg-trace-tc --dbg-io-uring-compat --shards --io --aead --no-offload"
		;;
	status) flags+=" -i --interface --json --routes --full --no-color" ;;
	probe) flags+=" -i --interface --json --timeout" ;;
	reload) flags+=" -i --interface --json --file" ;;
	trace) flags+=" -i --interface" ;;
	seal) flags+=" -c --config -k --key -o --output" ;;
	open) flags+=" -i --input" ;;
	verify) flags+=" --node" ;;
	help)
		mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
		return 0
		;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
		return 0
	fi
	# Positional arguments.
	case $cmd in
	verify) _nylon_files '@(yaml|yml)' ;;
	esac
	return 0
}

# _nylon_files [EXTGLOB]: file names (matching EXTGLOB, plus directories), through bash-completion when loaded.
_nylon_files() {
	if declare -F _filedir >/dev/null; then
		_filedir ${1:+"$1"}
		return 0
	fi
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

complete -F _nylon nylon
