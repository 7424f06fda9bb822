"""SMTP sink for the notify tests: aiosmtpd on 127.0.0.1:PORT that accepts
AUTH PLAIN/LOGIN for USER/PASSWORD without TLS and writes each message to
DIR/<n>.eml. Usage: smtp_sink.py PORT DIR USER PASSWORD"""
import os
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, out, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
count = 0


class Handler:
    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        path = os.path.join(out, "%d.eml" % count)
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            f.write(b"X-Envelope-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            login = getattr(session, "auth_data", None)
            f.write(b"X-Auth-Login: " + (login if isinstance(login, bytes) else b"") + b"\r\n")
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() \
        and auth_data.password == password.encode()
    return AuthResult(success=ok, auth_data=auth_data.login if ok else None)


c = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
               auth_require_tls=False)
c.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(1)
finally:
    c.stop()
