cat "$(find . -name .secret | head -n 1)"
