-- 0006_sessions_and_otp (down): drops otp_codes and sessions.

drop table otp_codes;
drop table sessions;
