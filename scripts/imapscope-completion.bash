# bash completion for imapscope; installed as
# share/bash-completion/completions/imapscope
_imapscope()
{
	local cur prev
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	-r|--read)
		COMPREPLY=($(compgen -f -- "$cur"))
		return;;
	-o|--output)
		COMPREPLY=($(compgen -d -- "$cur"))
		return;;
	--json-file|-w|--write|--pidfile)
		COMPREPLY=($(compgen -f -- "$cur"))
		return;;
	-i|--interface)
		COMPREPLY=($(compgen -W "any $(ls /sys/class/net 2>/dev/null)" -- "$cur"))
		return;;
	--color|--colour)
		COMPREPLY=($(compgen -W "auto always never" -- "$cur"))
		return;;
	-Z|--relinquish-privileges)
		COMPREPLY=($(compgen -u -- "$cur"))
		return;;
	--ports|--literal-bytes|--max-line|--max-flows|--max-ooo|--memcap|\
	--idle-timeout|-s|--snaplen|-B|--buffer-size|-C|--file-size|-W|\
	--file-count|--user|--host|--session)
		return;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-r --read -i --interface --ports --json -o
			--output --json-file -t --literal-bytes --color --show-secrets
			--stats -q --quiet --user --host --session --max-line
			--max-flows --max-ooo --memcap --idle-timeout -s --snaplen -B
			--buffer-size --no-promisc -w --write -C --file-size -W
			--file-count -Z --relinquish-privileges --pidfile -h --help
			-V --version" -- "$cur"))
	fi
}
complete -F _imapscope imapscope
