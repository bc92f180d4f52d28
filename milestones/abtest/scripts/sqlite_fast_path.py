"""How fast can SQLite feed `roadmap_abtest::analysis::ExperimentData` for 1,000,000 exposures?

Three layouts of the same synthetic request log (1,000,000 requests from 250,000 users, two
variants), each followed by the query that returns per variant the users, exposures and
COUNT / SUM / SUM of squares of every metric (what `analysis::analyze` needs):

1. raw requests, per-user reduction inside the report query;
2. a per-(user, variant) table kept by the logger, several-variant users found by a window;
3. one row per (experiment, user), with a `several` flag the logger sets: a plain GROUP BY.

Standard library only (sqlite3; the numbers in the README came from SQLite 3.40.1):
    python3 milestones/abtest/scripts/sqlite_fast_path.py
"""
import os
import random
import sqlite3
import tempfile
import time
import zlib

path = os.path.join(tempfile.mkdtemp(), "fast.db")
c=sqlite3.connect(path)
c.execute("""CREATE TABLE requests(experiment TEXT, user_key TEXT, variant TEXT, at TEXT,
  latency_ms REAL, grounded INTEGER, no_answer INTEGER, answer_len REAL, f1 REAL, thumbs_up INTEGER)""")
random.seed(1)
rows=[]
for i in range(1_000_000):
    u=f"user-{random.randrange(250_000)}"
    v = "convex" if zlib.crc32(u.encode()) % 2 == 0 else "rrf"
    rows.append(("fusion",u,v,f"2026-12-0{1+i%9}T00:00:00Z",random.gauss(150,30),int(random.random()<.8),int(random.random()<.05),random.gauss(120,40),None if random.random()<.5 else random.random(),None if random.random()<.9 else int(random.random()<.6)))
c.executemany("INSERT INTO requests VALUES (?,?,?,?,?,?,?,?,?,?)",rows); c.commit()
c.execute("CREATE INDEX requests_exp ON requests(experiment, user_key, variant)"); c.commit()
q="""
WITH per_user AS (
  SELECT user_key, variant, MIN(at) AS first_at, COUNT(*) AS exposures,
         MIN(grounded) AS grounded, MAX(no_answer) AS no_answer,
         AVG(latency_ms) AS latency_ms, AVG(answer_len) AS answer_len, AVG(f1) AS f1,
         MAX(thumbs_up) AS thumbs_up
  FROM requests WHERE experiment = ?1 GROUP BY user_key, variant),
multi AS (SELECT user_key FROM per_user GROUP BY user_key HAVING COUNT(*) > 1),
clean AS (SELECT * FROM per_user WHERE user_key NOT IN (SELECT user_key FROM multi) AND first_at >= ?2)
SELECT variant, COUNT(*), SUM(exposures),
  COUNT(thumbs_up), SUM(thumbs_up), COUNT(grounded), SUM(grounded), COUNT(no_answer), SUM(no_answer),
  COUNT(latency_ms), SUM(latency_ms - 150), SUM((latency_ms - 150)*(latency_ms - 150)),
  COUNT(answer_len), SUM(answer_len), SUM(answer_len*answer_len),
  COUNT(f1), SUM(f1), SUM(f1*f1)
FROM clean GROUP BY variant ORDER BY variant"""
for _ in range(3):
    t=time.perf_counter(); r=c.execute(q,("fusion","2026-12-01T00:00:00Z")).fetchall(); dt=time.perf_counter()-t
    print(f"raw requests: {dt:.3f} s", r[0][:3], r[1][:3])
print(sqlite3.sqlite_version)
# Per-user table kept up to date at logging time (one upsert per request).
c.execute("""CREATE TABLE ab_users AS
  SELECT 'fusion' AS experiment, user_key, variant, MIN(at) AS first_at, COUNT(*) AS exposures,
         MIN(grounded) AS grounded, MAX(no_answer) AS no_answer,
         SUM(latency_ms) AS latency_sum, SUM(answer_len) AS len_sum, COUNT(answer_len) AS len_n,
         SUM(f1) AS f1_sum, COUNT(f1) AS f1_n, MAX(thumbs_up) AS thumbs_up
  FROM requests GROUP BY user_key, variant""")
c.execute("CREATE UNIQUE INDEX ab_users_key ON ab_users(experiment, user_key, variant)"); c.commit()
q2="""
WITH u AS (SELECT *, COUNT(*) OVER (PARTITION BY user_key) AS arms,
                  latency_sum / exposures AS latency_ms, len_sum / len_n AS answer_len,
                  f1_sum / f1_n AS f1
           FROM ab_users WHERE experiment = ?1)
SELECT variant, COUNT(*), SUM(exposures),
  COUNT(thumbs_up), SUM(thumbs_up), COUNT(grounded), SUM(grounded), COUNT(no_answer), SUM(no_answer),
  COUNT(latency_ms), SUM(latency_ms - 150), SUM((latency_ms - 150)*(latency_ms - 150)),
  COUNT(answer_len), SUM(answer_len), SUM(answer_len*answer_len),
  COUNT(f1), SUM(f1), SUM(f1*f1)
FROM u WHERE arms = 1 AND first_at >= ?2 GROUP BY variant ORDER BY variant"""
for _ in range(3):
    t=time.perf_counter(); r=c.execute(q2,("fusion","2026-12-01T00:00:00Z")).fetchall(); dt=time.perf_counter()-t
    print(f"per-user table: {dt:.3f} s", r[0][:3], r[1][:3])
# One row per (experiment, user): the variant of the first exposure and a flag
# set by the logger when the user shows up in another variant.
c.execute("""CREATE TABLE ab_user1 AS SELECT experiment, user_key, MIN(variant) AS variant,
   COUNT(*) > 1 AS several, MIN(first_at) AS first_at, SUM(exposures) AS exposures,
   MIN(grounded) AS grounded, MAX(no_answer) AS no_answer, SUM(latency_sum)/SUM(exposures) AS latency_ms,
   SUM(len_sum)/SUM(len_n) AS answer_len, SUM(f1_sum)/SUM(f1_n) AS f1, MAX(thumbs_up) AS thumbs_up
   FROM ab_users GROUP BY experiment, user_key""")
c.execute("CREATE UNIQUE INDEX ab_user1_key ON ab_user1(experiment, user_key)"); c.commit()
q3="""SELECT variant, COUNT(*), SUM(exposures),
  COUNT(thumbs_up), SUM(thumbs_up), COUNT(grounded), SUM(grounded), COUNT(no_answer), SUM(no_answer),
  COUNT(latency_ms), SUM(latency_ms - 150), SUM((latency_ms - 150)*(latency_ms - 150)),
  COUNT(answer_len), SUM(answer_len), SUM(answer_len*answer_len),
  COUNT(f1), SUM(f1), SUM(f1*f1)
FROM ab_user1 WHERE experiment = ?1 AND NOT several AND first_at >= ?2 GROUP BY variant ORDER BY variant"""
for _ in range(3):
    t=time.perf_counter(); r=c.execute(q3,("fusion","2026-12-01T00:00:00Z")).fetchall(); dt=time.perf_counter()-t
    print(f"one row per user: {dt:.3f} s", r[0][:3], r[1][:3])
os.remove(path)
