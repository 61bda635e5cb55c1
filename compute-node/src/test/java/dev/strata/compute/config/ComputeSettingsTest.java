package dev.strata.compute.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.safekeeper.election.Proposer;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ComputeSettingsTest {

    private static final List<Proposer.Member> THREE = List.of(
            new Proposer.Member(NodeId.of("sk-1"), URI.create("http://127.0.0.1:1")),
            new Proposer.Member(NodeId.of("sk-2"), URI.create("http://127.0.0.1:2")),
            new Proposer.Member(NodeId.of("sk-3"), URI.create("http://127.0.0.1:3")));

    @Test
    void majorityOfQuotedSafekeeperNames() {
        assertThat(ComputeSettings.synchronousStandbyNames(THREE)).isEqualTo("ANY 2 (\"sk-1\",\"sk-2\",\"sk-3\")");
        assertThat(ComputeSettings.synchronousStandbyNames(THREE.subList(0, 1))).isEqualTo("ANY 1 (\"sk-1\")");
    }

    @Test
    void operatorSettingsWin() {
        Map<String, String> s = ComputeSettings.forCompute(THREE, Map.of("fsync", "on", "work_mem", "64MB"));
        assertThat(s).containsEntry("fsync", "on").containsEntry("work_mem", "64MB")
                .containsEntry("wal_consistency_checking", "")
                .containsEntry("synchronous_commit", "on");
    }

    @Test
    void stockPostgres17AcceptsEverySetting() throws Exception {
        try (PostgresServer pg = PostgresServer.builder().settings(ComputeSettings.forCompute(THREE, Map.of())).start();
             Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
             Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SHOW synchronous_standby_names")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("ANY 2 (\"sk-1\",\"sk-2\",\"sk-3\")");
            }
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_settings WHERE name IN "
                    + "('wal_consistency_checking','fsync','restart_after_crash') AND source = 'configuration file'")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(3);
            }
            // Java redo covers every manager: the list is empty, written '' (PostgreSQL's default).
            try (ResultSet rs = s.executeQuery("SHOW wal_consistency_checking")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo(ComputeSettings.WAL_CONSISTENCY_CHECKING);
            }
            // The parsed standby list is the three safekeepers (a typo would leave it empty).
            try (ResultSet rs = s.executeQuery("SELECT setting FROM pg_settings WHERE name = 'synchronous_commit'")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("on");
            }
        }
    }
}
