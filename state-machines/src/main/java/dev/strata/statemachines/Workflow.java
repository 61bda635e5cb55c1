package dev.strata.statemachines;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The control plane's Step Functions workflows, as Amazon States Language (JSONPath) resources next to
 * this class: the same files deploy to AWS and run on {@link LocalStepFunctions}.
 *
 * <p>Lambda task {@code Resource}s are qualified function ARNs with three placeholders,
 * {@code arn:aws:lambda:${Region}:${Account}:function:strata-<step>:${Alias}}. They are Step Functions'
 * definition substitutions: the CDK app passes {@code definitionSubstitutions} {@code Region} and
 * {@code Account} (the stack's) and {@code Alias} (the alias every function's deployment moves to its
 * new published version), so the files need no editing per account. The qualifier matters: an
 * unqualified ARN runs {@code $LATEST}, where SnapStart does not apply. Locally
 * {@link #definition(String, String, String)} substitutes {@link #LOCAL_REGION}, {@link #LOCAL_ACCOUNT}
 * and {@link #LOCAL_ALIAS}. The function name after {@code function:} (whatever the qualifier) is what
 * {@link LambdaHandlers} routes on.
 */
public enum Workflow {
    /** StartCompute: claim a warm agent, elect, basebackup and start, mark running. */
    WAKE("wake.asl.json"),
    /** SuspendCompute: check the compute is idle, stop Postgres, return the agent, mark suspended. */
    SUSPEND("suspend.asl.json"),
    /** CreateProject: project and main branch records, timeline, default endpoint, ready. */
    CREATE_PROJECT("create-project.asl.json"),
    /** CreateBranch: resolve the point on the parent, the branch item, its child timeline, optionally its endpoint, ready. */
    CREATE_BRANCH("create-branch.asl.json"),
    /** DeleteBranch: refused while it has children; stop its endpoint, delete its timeline, its endpoints and item. */
    DELETE_BRANCH("delete-branch.asl.json"),
    /** Restore: a new timeline at a past point, the old one kept as the backup branch, repoint, restart the endpoint. */
    RESTORE("restore.asl.json");

    /** The placeholder for the region in task ARNs (a Step Functions definition substitution). */
    public static final String REGION_PLACEHOLDER = "${Region}";
    /** The placeholder for the account id in task ARNs (a Step Functions definition substitution). */
    public static final String ACCOUNT_PLACEHOLDER = "${Account}";
    /** The placeholder for the function alias that qualifies task ARNs (a Step Functions definition substitution). */
    public static final String ALIAS_PLACEHOLDER = "${Alias}";
    /** The region the local engine's ARNs name (nothing is called there: every task runs in this JVM). */
    public static final String LOCAL_REGION = "us-east-1";
    /** The account the local engine's ARNs name: the all-zero account local AWS emulators use. */
    public static final String LOCAL_ACCOUNT = "000000000000";
    /** The alias the local engine's ARNs name: the one the CDK app publishes (routing ignores it). */
    public static final String LOCAL_ALIAS = "live";

    private static final Pattern REGION = Pattern.compile("[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\\d");
    private static final Pattern ACCOUNT = Pattern.compile("\\d{12}");
    /** A Lambda alias name: letters, digits, '-' and '_', not all digits (that would be a version). */
    private static final Pattern ALIAS = Pattern.compile("(?!\\d+$)[A-Za-z0-9_-]{1,128}");

    private final String resource;

    Workflow(String resource) {
        this.resource = resource;
    }

    /** The resource's file name, e.g. {@code wake.asl.json}. */
    public String fileName() {
        return resource;
    }

    /** The definition as committed, placeholders included (what the CDK app reads). */
    public String rawDefinition() {
        try (InputStream in = Workflow.class.getResourceAsStream(resource)) {
            Objects.requireNonNull(in, "missing resource dev/strata/statemachines/" + resource);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + resource, e);
        }
    }

    /** The definition with task ARNs in the given region and account, qualified by the given alias. */
    public String definition(String region, String account, String alias) {
        if (!REGION.matcher(region).matches()) {
            throw new IllegalArgumentException("not an AWS region: '" + region + "'");
        }
        if (!ACCOUNT.matcher(account).matches()) {
            throw new IllegalArgumentException("an AWS account id is 12 digits, got '" + account + "'");
        }
        if (!ALIAS.matcher(alias).matches()) {
            throw new IllegalArgumentException("not a Lambda alias name (1-128 of A-Z a-z 0-9 - _, not all digits): '"
                    + alias + "'");
        }
        return rawDefinition().replace(REGION_PLACEHOLDER, region).replace(ACCOUNT_PLACEHOLDER, account)
                .replace(ALIAS_PLACEHOLDER, alias);
    }

    /** The definition as the local engine runs it. */
    public String localDefinition() {
        return definition(LOCAL_REGION, LOCAL_ACCOUNT, LOCAL_ALIAS);
    }
}
