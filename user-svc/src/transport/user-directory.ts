/**
 * parley.directory.v1.UserDirectoryService over gRPC, for other services only:
 * every call must carry a service token (the edge does not serve it to
 * clients, and a user's access token is refused here).
 */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { UserDirectoryService } from "@parley/proto/directory/v1/directory_pb.js";
import type { DomainDeps } from "../domain/deps.js";
import { lookupUsers } from "../domain/lookup-users.js";

export { UserDirectoryService };

export function userDirectoryImpl(domain: DomainDeps): ServiceImpl<typeof UserDirectoryService> {
  return {
    async lookupUsers(req, ctx) {
      await domain.authenticator.authenticateService(ctx.requestHeader);
      const found = await lookupUsers(domain, req.userIds);
      return {
        users: found.map((u) => ({
          id: u.id,
          username: u.username,
          updatedAt: timestampFromDate(u.updatedAt),
          deactivated: u.deactivated,
        })),
      };
    },
  };
}
