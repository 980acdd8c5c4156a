python3 -c 'import urllib.request as u; print(u.urlopen(u.Request("http://127.0.0.1:8080/admin", headers={"X-Role": "admin"})).read().decode())'
