# bash completion for siprems-etl: its commands, and the options of each
# command as its own --help lists them (so the two never disagree).
# Installed by `make install` into PREFIX/share/bash-completion/completions.

_siprems_etl() {
	local cur prev cmd word i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case "$word" in
		--db) ((i++)) ;;
		-*) ;;
		*) cmd=$word; break ;;
		esac
	done
	case "$prev" in
	--reject-dir | --out | --data)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return ;;
	--summary-json | --profile)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return ;;
	--on-conflict)
		mapfile -t COMPREPLY < <(compgen -W "error skip update" -- "$cur")
		return ;;
	--encoding)
		mapfile -t COMPREPLY < <(compgen -W "utf-8 latin1 windows-1252 utf-16 utf-16le utf-16be utf-32 utf-32le utf-32be" -- "$cur")
		return ;;
	--format)
		mapfile -t COMPREPLY < <(compgen -W "text csv json" -- "$cur")
		return ;;
	--copy-format)
		mapfile -t COMPREPLY < <(compgen -W "binary text" -- "$cur")
		return ;;
	--case-variants)
		mapfile -t COMPREPLY < <(compgen -W "reject allow" -- "$cur")
		return ;;
	--as-of | --end)
		mapfile -t COMPREPLY < <(compgen -W "today" -- "$cur")
		return ;;
	--db | --batch-rows | --max-rejects | --timezone | --delimiter | --sku-pattern | \
		--jobs | --products | --days | --seed | --limit | --map | --columns | \
		--date-format | --currency | --null)
		return ;;
	esac
	local prog=${COMP_WORDS[0]}
	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$("$prog" --help 2>/dev/null |
				sed -n '/^Global options/,/^$/p' |
				grep -oE -- '(^|[ ,])--?[a-zA-Z][a-z-]*' | tr -d ' ,' | sort -u)" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$("$prog" --help 2>/dev/null |
				sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && /^  [a-z]/ {print $1}')" -- "$cur")
		fi
		return
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$("$prog" "$cmd" --help 2>/dev/null |
			grep -oE -- '(^|[ ,[])--?[a-zA-Z][a-z-]*' | tr -d ' ,[' | sort -u) --db --quiet --verbose --no-progress --help" -- "$cur")
		return
	fi
	case "$cmd" in
	load | check) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
	esac
}
complete -o filenames -o bashdefault -F _siprems_etl siprems-etl
