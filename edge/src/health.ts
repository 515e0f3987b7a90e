/**
 * grpc.health.v1 Check against the services, for GET /healthz. The proto is
 * not part of Parley's contracts, so its two messages are described here.
 */
import { create, createFileRegistry, type DescMethodUnary } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import type { Transport } from "@connectrpc/connect";

const file = create(FileDescriptorProtoSchema, {
  name: "grpc/health/v1/health.proto",
  package: "grpc.health.v1",
  syntax: "proto3",
  messageType: [
    {
      name: "HealthCheckRequest",
      field: [
        {
          name: "service",
          jsonName: "service",
          number: 1,
          type: FieldDescriptorProto_Type.STRING,
          label: FieldDescriptorProto_Label.OPTIONAL,
        },
      ],
    },
    {
      name: "HealthCheckResponse",
      // ServingStatus is an enum upstream; its wire form is the same varint.
      field: [
        {
          name: "status",
          jsonName: "status",
          number: 1,
          type: FieldDescriptorProto_Type.INT32,
          label: FieldDescriptorProto_Label.OPTIONAL,
        },
      ],
    },
  ],
  service: [
    {
      name: "Health",
      method: [
        {
          name: "Check",
          inputType: ".grpc.health.v1.HealthCheckRequest",
          outputType: ".grpc.health.v1.HealthCheckResponse",
        },
      ],
    },
  ],
});

const check = createFileRegistry(file, () => undefined).getService("grpc.health.v1.Health")
  ?.methods[0] as DescMethodUnary;

const SERVING = 1;

export type HealthStatus = "serving" | "not_serving" | "unavailable";

export async function checkHealth(transport: Transport, timeoutMs = 1_000): Promise<HealthStatus> {
  try {
    const res = await transport.unary(check, undefined, timeoutMs, undefined, { service: "" });
    return (res.message as unknown as { status?: number }).status === SERVING ? "serving" : "not_serving";
  } catch {
    return "unavailable";
  }
}
