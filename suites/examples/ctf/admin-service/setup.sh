set -e
mkdir -p /tmp/svc
printf '%s' '__FLAG__' > /tmp/svc/flag
nohup python3 server.py /tmp/svc/flag >/dev/null 2>&1 &
for i in $(seq 100); do
  python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8080), 0.2)' 2>/dev/null && exit 0
  sleep 0.1
done
echo "the service did not start" >&2
exit 1
