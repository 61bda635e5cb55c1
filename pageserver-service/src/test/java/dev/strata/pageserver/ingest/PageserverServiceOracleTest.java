package dev.strata.pageserver.ingest;

import dev.strata.pageserver.redo.page.PageMask;
import dev.strata.pageserver.testing.TestPageservers;
import dev.strata.pageserver.testing.WalOracle;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.client.PageserverClient;
import dev.strata.pageserver.http.PageserverConfig;
import dev.strata.pageserver.http.PageserverServer;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineException;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pageserver as a service, end to end: a real PG17 primary (wal_consistency_checking=all)
 * is the WAL source of a timeline created over HTTP; pages read over the page service must
 * equal the primary's {@code get_raw_page} after masking, and sizes must match. The pageserver
 * is restarted (graceful: it flushes) between two halves of the workload, and must come back
 * with its layers, resume ingest at the disk-consistent LSN and serve the same pages.
 */
class PageserverServiceOracleTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    record Rel(String name, PageMask.Kind kind, long relNumber) {
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void pagesOverThePageServiceMatchThePrimaryAcrossARestart(@TempDir Path dir) throws Exception {
        try (PostgresServer pg = WalOracle.consistencyCheckingPrimary().start();
             Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
             Statement s = c.createStatement()) {
            s.execute("CREATE EXTENSION pageinspect");
            Lsn start = WalOracle.freshSegment(s);
            TimelineId tl = TimelineId.random();
            PageserverConfig config = TestPageservers.config(dir.resolve("ps"))
                    .withTimelineOptions(new Timeline.Options(Duration.ofSeconds(1), 4, Duration.ofSeconds(5), "ps-test"));

            PageserverServer ps = PageserverServer.start(config);
            try {
                String create = "{\"timelineId\":\"" + tl + "\",\"startLsn\":\"" + start + "\",\"walSources\":[{\"host\":\""
                        + pg.host() + "\",\"port\":" + pg.port() + ",\"user\":\"" + pg.user() + "\",\"password\":\"" + pg.password() + "\"}]}";
                HttpResponse<String> created = send(ps.url(), "POST", "/v1/timelines", create);
                assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
                assertThat(created.body()).contains("\"state\":\"active\"").doesNotContain(pg.password());

                s.execute("CREATE TABLE t_main (id int PRIMARY KEY, val text, n int)");
                s.execute("INSERT INTO t_main SELECT g, repeat('x', g % 50), g % 100 FROM generate_series(1, 4000) g");
                s.execute("UPDATE t_main SET val = val || 'u' WHERE id % 7 = 0");
                s.execute("VACUUM t_main");
                HttpResponse<String> waited = send(ps.url(), "GET", "/v1/timelines/" + tl + "/wait?lsn="
                        + WalOracle.endOfWork(s) + "&timeout=60000", null);
                assertThat(waited.statusCode()).as(waited.body()).isEqualTo(200);
            } finally {
                ps.close(); // graceful: flushes the in-memory layer
            }

            ps = PageserverServer.start(config);
            try (PageserverClient client = TestPageservers.client(ps)) {
                String status = send(ps.url(), "GET", "/v1/timelines/" + tl, null).body();
                assertThat(status).contains("\"state\":\"active\"");
                Timeline t = ps.node().timelines().get(tl);
                assertThat(t.store().diskConsistentLsn()).isGreaterThan(start);
                assertThat(t.layerCounts().delta()).isGreaterThan(0);
                // the graceful stop persisted the start of the last record with the disk-consistent LSN
                assertThat(t.store().diskConsistentPrevRecordLsn().isValid()).isTrue();
                assertThat(t.store().diskConsistentPrevRecordLsn()).isLessThan(t.store().diskConsistentLsn());

                s.execute("UPDATE t_main SET n = n + 1 WHERE id % 13 = 0");
                s.execute("DELETE FROM t_main WHERE id % 17 = 0");
                s.execute("CREATE TABLE t_two (id int, pad text)");
                s.execute("INSERT INTO t_two SELECT g, repeat('p', 200) FROM generate_series(1, 2000) g");
                s.execute("CREATE INDEX t_two_id ON t_two (id)");
                Lsn at = WalOracle.endOfWork(s);
                Lsn reached = client.waitForLsn(tl, at, Duration.ofSeconds(60));
                assertThat(reached).isGreaterThanOrEqualTo(at);

                long dbOid = Long.parseLong(WalOracle.scalar(s, "SELECT oid FROM pg_database WHERE datname = current_database()"));
                List<Rel> rels = new ArrayList<>();
                for (String[] r : new String[][] {{"t_main", "HEAP"}, {"t_main_pkey", "BTREE"}, {"t_two", "HEAP"},
                        {"t_two_id", "BTREE"}}) {
                    rels.add(new Rel(r[0], PageMask.Kind.valueOf(r[1]),
                            Long.parseLong(WalOracle.scalar(s, "SELECT pg_relation_filenode('" + r[0] + "')"))));
                }
                int pages = 0;
                List<String> mismatches = new ArrayList<>();
                for (Rel rel : rels) {
                    long blocks = Long.parseLong(WalOracle.scalar(s, "SELECT pg_relation_size('" + rel.name() + "') / 8192"));
                    long ours = client.relationSize(tl, at, 1663, (int) dbOid, (int) rel.relNumber(), 0);
                    assertThat(ours).as("size of " + rel.name()).isEqualTo(blocks);
                    int[] blockNos = new int[(int) blocks];
                    for (int i = 0; i < blockNos.length; i++) {
                        blockNos[i] = i;
                    }
                    var futures = client.getPagesAsync(tl, at, 1663, (int) dbOid, (int) rel.relNumber(), 0, blockNos);
                    for (int blk = 0; blk < blocks; blk++) {
                        byte[] mine = futures[blk].get(30, TimeUnit.SECONDS);
                        byte[] primary = WalOracle.rawPage(c, rel.name(), "main", blk);
                        pages++;
                        int diff = PageMask.firstDifference(PageMask.mask(primary, rel.kind()), PageMask.mask(mine, rel.kind()));
                        if (diff >= 0) {
                            mismatches.add(rel.name() + " block " + blk + " differs at byte " + diff);
                        }
                    }
                    // one past the end is an error that names the size; the connection lives on
                    assertThatThrownBy(() -> client.getPage(tl, at, 1663, (int) dbOid, (int) rel.relNumber(), 0, (int) blocks))
                            .isInstanceOf(TimelineException.class).hasMessageContaining("beyond its size of " + blocks);
                }
                assertThat(mismatches).isEmpty();
                assertThat(pages).isGreaterThan(40);

                // typed errors, each leaving the connection usable
                assertThatThrownBy(() -> client.getPage(TimelineId.random(), at, 1663, 5, 1, 0, 0))
                        .isInstanceOf(TimelineException.class).satisfies(e ->
                                assertThat(((TimelineException) e).kind()).isEqualTo(TimelineException.Kind.NOT_FOUND));
                assertThatThrownBy(() -> client.relationSize(tl, Lsn.of(start.value() - 8192), 1663, 5, 1, 0))
                        .isInstanceOf(TimelineException.class).hasMessageContaining("below the timeline's history");
                assertThatThrownBy(() -> client.waitForLsn(tl, at.plus(1L << 30), Duration.ofMillis(200)))
                        .isInstanceOf(TimelineException.class).satisfies(e ->
                                assertThat(((TimelineException) e).kind()).isEqualTo(TimelineException.Kind.WAIT_TIMEOUT));
                assertThat(client.relationSize(tl, at, 1663, (int) dbOid, 999_999, 0)).isEqualTo(-1);
                assertThat(client.getPage(tl, Lsn.INVALID, 1663, (int) dbOid, (int) rels.get(0).relNumber(), 0, 0)).hasSize(8192);
            } finally {
                ps.close();
            }
        }
    }

    static HttpResponse<String> send(URI base, String method, String path, String body) throws Exception {
        HttpRequest.Builder b = TestPageservers.authorized(HttpRequest.newBuilder(base.resolve(path))).timeout(Duration.ofSeconds(90));
        b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
                : b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
