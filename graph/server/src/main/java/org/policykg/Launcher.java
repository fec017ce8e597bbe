package org.policykg;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

/**
 * Runs Neo4j Community embedded with only the Bolt connector on, so that policykg talks to a
 * real server over the official driver without a packaged distribution.
 *
 * <p>Usage: {@code Launcher HOME HOST PORT}; the password comes from {@code NEO4J_PASSWORD},
 * never from the command line, where other users of the machine could read it.
 */
public final class Launcher {

    private Launcher() {
    }

    /** Sets the password from the environment; an unchanged password is not an error. */
    private static void setPassword(DatabaseManagementService dbms, String password) {
        GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        try {
            system.executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
        } catch (RuntimeException e) {
            if (!String.valueOf(e.getMessage()).contains("cannot be the same")
                    && !String.valueOf(e.getCause()).contains("cannot be the same")) {
                throw e;
            }
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Launcher HOME HOST PORT");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        String host = args[1];
        int port = Integer.parseInt(args[2]);
        String password = System.getenv("NEO4J_PASSWORD");
        if (password == null || password.length() < 8) {
            System.err.println("NEO4J_PASSWORD must be set to at least 8 characters");
            System.exit(2);
        }
        Files.createDirectories(home);

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(
                        Long.parseLong(System.getenv().getOrDefault("POLICYKG_PAGECACHE_MB", "1024"))))
                .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofMinutes(10))
                // One runaway query (an analyst's collect() over a huge UNWIND) fails with a
                // memory error instead of starving the server; writes of one document fit.
                .setConfig(GraphDatabaseSettings.memory_transaction_max_size, ByteUnit.mebiBytes(
                        Long.parseLong(System.getenv().getOrDefault("POLICYKG_TX_MEMORY_MB", "512"))))
                // LOAD CSV must never read the server's own files (file:///etc/passwd).
                .setConfig(GraphDatabaseSettings.allow_file_urls, false)
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown, "neo4j-shutdown"));

        try {
            setPassword(dbms, password);
        } catch (RuntimeException e) {
            e.printStackTrace();
            dbms.shutdown();
            System.exit(1);
        }

        System.out.println("policykg-neo4j ready on bolt://" + host + ":" + port);
        System.out.flush();
        Thread.currentThread().join();
    }
}
