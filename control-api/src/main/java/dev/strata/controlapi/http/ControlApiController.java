package dev.strata.controlapi.http;

import dev.strata.control.model.ComputeSettings;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.OperationId;
import dev.strata.controlapi.ControlApi;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.ProjectId;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The control-plane API's routes (docs/control-plane.md "API"). Thin: parses ids (400 when invalid),
 * calls {@link ControlApi}, maps records to {@link Dto} views; errors go to {@link ErrorMapping}.
 * Mutations answer 202 with the operation to poll at {@code GET /v1/operations/{id}}. On the blocking
 * executor: every call makes DynamoDB requests.
 */
@Requires(property = ControlApiServer.SERVICE_PROPERTY, value = ControlApiServer.SERVICE)
@Controller("/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
@SecurityRequirement(name = "bearer")
public final class ControlApiController {

    private final ControlApi api;

    public ControlApiController(ControlApi api) {
        this.api = api;
    }

    // ---------------------------------------------------------------- projects

    @Post("/projects")
    @Operation(summary = "Create a project (create-project workflow): its main branch, timeline and default endpoint")
    @ApiResponse(responseCode = "202", description = "the CREATE_PROJECT operation to poll")
    public HttpResponse<Dto.OperationView> createProject(@Body @Nullable @RequestBody(content = @Content(schema = @Schema(implementation = Dto.CreateProject.class))) String json) {
        Dto.CreateProject body = StrictJson.read(json, Dto.CreateProject.class);
        if (body == null || body.name() == null) {
            throw new IllegalArgumentException("name is missing: the body is {\"name\": \"...\"}");
        }
        Optional<ProjectId> id = Optional.ofNullable(body.id()).map(s -> parse("id", () -> ProjectId.of(s)));
        return accepted(api.createProject(body.name(), id));
    }

    @Get("/projects")
    @Operation(summary = "List projects")
    public List<Dto.ProjectView> listProjects() {
        return api.listProjects().stream().map(Dto.ProjectView::of).toList();
    }

    @Get("/projects/{projectId}")
    @Operation(summary = "Get a project")
    public Dto.ProjectView getProject(@PathVariable String projectId) {
        return Dto.ProjectView.of(api.project(project(projectId)));
    }

    @Delete("/projects/{projectId}")
    @Operation(summary = "Delete a project that has no branches left (409 otherwise)")
    @ApiResponse(responseCode = "204", description = "deleted")
    public HttpResponse<Void> deleteProject(@PathVariable String projectId) {
        api.deleteProject(project(projectId));
        return HttpResponse.noContent();
    }

    // ---------------------------------------------------------------- branches

    @Get("/projects/{projectId}/branches")
    @Operation(summary = "List a project's branches")
    public List<Dto.BranchView> listBranches(@PathVariable String projectId) {
        return api.listBranches(project(projectId)).stream().map(Dto.BranchView::of).toList();
    }

    @Post("/projects/{projectId}/branches")
    @Operation(summary = "Create a branch at the parent's head, an LSN or a time (create-branch workflow)")
    @ApiResponse(responseCode = "202", description = "the CREATE_BRANCH operation to poll")
    public HttpResponse<Dto.OperationView> createBranch(@PathVariable String projectId,
                                                        @Body @Nullable @RequestBody(content = @Content(schema = @Schema(implementation = Dto.CreateBranch.class))) String json) {
        Dto.CreateBranch body = StrictJson.read(json, Dto.CreateBranch.class);
        if (body == null || body.name() == null) {
            throw new IllegalArgumentException("name is missing: the body is {\"name\": \"...\", \"parent\"?, \"at\"?}");
        }
        ProjectId p = project(projectId);
        return accepted(api.createBranch(p, body.name(), Optional.ofNullable(body.parent()),
                Dto.Target.orHead(body.at(), "at"), body.endpoint() == null || body.endpoint()));
    }

    @Delete("/projects/{projectId}/branches/{branch}")
    @Operation(summary = "Delete a branch (delete-branch workflow); branch is its name or id")
    @ApiResponse(responseCode = "202", description = "the DELETE_BRANCH operation to poll")
    public HttpResponse<Dto.OperationView> deleteBranch(@PathVariable String projectId, @PathVariable String branch) {
        return accepted(api.deleteBranch(project(projectId), branch));
    }

    @Post("/projects/{projectId}/branches/{branch}/restore")
    @Operation(summary = "Restore a branch to a point of its own or another branch's history (restore workflow)")
    @ApiResponse(responseCode = "202", description = "the RESTORE_BRANCH operation to poll")
    public HttpResponse<Dto.OperationView> restoreBranch(@PathVariable String projectId, @PathVariable String branch,
                                                         @Body @Nullable @RequestBody(content = @Content(schema = @Schema(implementation = Dto.Restore.class))) String json) {
        Dto.Restore body = StrictJson.read(json, Dto.Restore.class);
        Dto.Restore r = body == null ? new Dto.Restore(null, null) : body;
        if (r.from() == null && r.to() == null) {
            throw new IllegalArgumentException("a restore needs \"to\" (a point) or \"from\" (a source branch)");
        }
        return accepted(api.restoreBranch(project(projectId), branch, Optional.ofNullable(r.from()),
                Dto.Target.orHead(r.to(), "to")));
    }

    // ---------------------------------------------------------------- endpoints

    @Get("/projects/{projectId}/endpoints")
    @Operation(summary = "List a project's endpoints")
    public List<Dto.EndpointView> listEndpoints(@PathVariable String projectId) {
        return api.listEndpoints(project(projectId)).stream().map(Dto.EndpointView::of).toList();
    }

    @Post("/projects/{projectId}/endpoints")
    @Operation(summary = "Create a suspended endpoint on a branch (one per branch)")
    @ApiResponse(responseCode = "201", description = "the endpoint")
    public HttpResponse<Dto.EndpointView> createEndpoint(@PathVariable String projectId,
                                                         @Body @Nullable @RequestBody(content = @Content(schema = @Schema(implementation = Dto.CreateEndpoint.class))) String json) {
        Dto.CreateEndpoint body = StrictJson.read(json, Dto.CreateEndpoint.class);
        if (body == null || body.branch() == null) {
            throw new IllegalArgumentException("branch is missing: the body is {\"branch\": \"...\"}");
        }
        ComputeSettings compute = new ComputeSettings(
                body.cpuMillis() == null ? ComputeSettings.DEFAULT.cpuMillis() : body.cpuMillis(),
                body.memoryMib() == null ? ComputeSettings.DEFAULT.memoryMib() : body.memoryMib());
        Duration idle = body.idleTimeoutSeconds() == null ? Duration.ofMinutes(5)
                : Duration.ofSeconds(body.idleTimeoutSeconds());
        Endpoint e = api.createEndpoint(project(projectId), body.branch(), compute, idle);
        return HttpResponse.<Dto.EndpointView>status(HttpStatus.CREATED).body(Dto.EndpointView.of(e));
    }

    @Get("/endpoints/{endpointId}")
    @Operation(summary = "Get an endpoint: its state, and its address while running")
    public Dto.EndpointView getEndpoint(@PathVariable String endpointId) {
        return Dto.EndpointView.of(api.endpoint(endpoint(endpointId)));
    }

    @Post("/endpoints/{endpointId}/start")
    @Operation(summary = "Start (wake) a suspended endpoint (wake workflow); concurrent starts get the same operation")
    @ApiResponse(responseCode = "202", description = "the START_COMPUTE operation to poll")
    public HttpResponse<Dto.OperationView> start(@PathVariable String endpointId) {
        return accepted(api.startEndpoint(endpoint(endpointId)));
    }

    @Post("/endpoints/{endpointId}/suspend")
    @Operation(summary = "Suspend a running endpoint (suspend workflow); concurrent suspends get the same operation")
    @ApiResponse(responseCode = "202", description = "the SUSPEND_COMPUTE operation to poll")
    public HttpResponse<Dto.OperationView> suspend(@PathVariable String endpointId) {
        return accepted(api.suspendEndpoint(endpoint(endpointId)));
    }

    // ---------------------------------------------------------------- operations

    @Get("/operations")
    @Operation(summary = "List a project's operations, oldest first")
    public List<Dto.OperationView> listOperations(@QueryValue @Nullable String project) {
        if (project == null) {
            throw new IllegalArgumentException("the query parameter project is missing: /v1/operations?project=p-...");
        }
        return api.listOperations(project(project)).stream().map(Dto.OperationView::of).toList();
    }

    @Get("/operations/{operationId}")
    @Operation(summary = "Get an operation: state, kind, workflow execution, error")
    public Dto.OperationView getOperation(@PathVariable String operationId) {
        return Dto.OperationView.of(api.operation(parse("operation id", () -> OperationId.of(operationId))));
    }

    // ---------------------------------------------------------------- helpers

    private static HttpResponse<Dto.OperationView> accepted(dev.strata.control.model.Operation op) {
        return HttpResponse.<Dto.OperationView>status(HttpStatus.ACCEPTED).body(Dto.OperationView.of(op));
    }

    private static ProjectId project(String s) {
        return parse("project id", () -> ProjectId.of(s));
    }

    private static EndpointId endpoint(String s) {
        return parse("endpoint id", () -> EndpointId.of(s));
    }

    private static <T> T parse(String what, java.util.function.Supplier<T> p) {
        try {
            return p.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
    }
}
