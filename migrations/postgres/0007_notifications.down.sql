-- 0007_notifications (down): drops the notification outbox.

drop table notifications;
