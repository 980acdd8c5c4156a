set -e
mkdir -p notes/.archive/2026
printf 'nothing to see here\n' > notes/todo.txt
printf 'still nothing\n' > notes/.archive/readme.txt
printf '%s\n' '__FLAG__' > notes/.archive/2026/.secret
