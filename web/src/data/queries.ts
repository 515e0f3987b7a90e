/**
 * Server data the SDK does not keep (profiles, the public directory, user
 * search, sessions) and the actions that change rooms, as connect-query
 * hooks over TanStack Query. Components call these, never a client directly.
 */
import {
  createConnectQueryKey,
  createQueryOptions,
  useMutation,
  useQuery,
  useTransport,
} from "@connectrpc/connect-query";
import { ChatService } from "@parley/proto/chat/v1/chat_pb.js";
import { type PublicProfile, UserService } from "@parley/proto/user/v1/user_pb.js";
import { keepPreviousData, useQueries, useQueryClient } from "@tanstack/react-query";
import { displayName } from "./names.js";
import { useClient } from "./use-parley.js";

export { displayName, handleBeside } from "./names.js";

const PROFILE_STALE_MS = 5 * 60_000;
const USERNAME_PREFIX = /^[A-Za-z0-9_]{1,32}$/;

export function useProfile(userId: string | undefined): PublicProfile | undefined {
  const { data } = useQuery(
    UserService.method.getUser,
    { userId: userId ?? "" },
    { enabled: !!userId, staleTime: PROFILE_STALE_MS },
  );
  return data?.user;
}

export function useDisplayName(userId: string | undefined, fallback?: string): string {
  return displayName(useProfile(userId), fallback);
}

export function useUserSearch(prefix: string) {
  const trimmed = prefix.trim().replace(/^@/, "");
  return useQuery(
    UserService.method.searchUsers,
    { prefix: trimmed, limit: 8 },
    { enabled: USERNAME_PREFIX.test(trimmed), placeholderData: keepPreviousData, staleTime: 30_000 },
  );
}

export function usePublicRooms(prefix: string) {
  return useQuery(
    ChatService.method.listPublicRooms,
    { namePrefix: prefix.trim(), limit: 50 },
    { placeholderData: keepPreviousData },
  );
}

export function useSessions() {
  return useQuery(UserService.method.listSessions, {});
}

export function useMyProfile() {
  return useQuery(UserService.method.getProfile, {});
}

export function useUpdateProfile() {
  const queries = useQueryClient();
  // Every cached profile (mine among them) is read again, so names and avatars change everywhere.
  return useMutation(UserService.method.updateProfile, { onSuccess: () => queries.invalidateQueries() });
}

/** Room actions: each follows the room in the SDK once the server has it, so it shows at once. */
export function useCreateRoom() {
  const client = useClient();
  return useMutation(ChatService.method.createRoom, {
    onSuccess: async ({ room }) => {
      if (room) await client.watchRoom(room.id);
    },
  });
}

export function useOpenDirectRoom() {
  const client = useClient();
  return useMutation(ChatService.method.openDirectRoom, {
    onSuccess: async ({ room }) => {
      if (room) await client.watchRoom(room.id);
    },
  });
}

export function useJoinRoom() {
  const client = useClient();
  const queries = useQueryClient();
  return useMutation(ChatService.method.joinRoom, {
    onSuccess: async ({ room }) => {
      if (room) await client.watchRoom(room.id);
      await queries.invalidateQueries({
        queryKey: createConnectQueryKey({ schema: ChatService.method.listPublicRooms, cardinality: undefined }),
      });
    },
  });
}

export function useLeaveRoom() {
  const client = useClient();
  return useMutation(ChatService.method.leaveRoom, {
    onSuccess: () => void client.refreshRooms().catch(() => undefined),
  });
}

export const useAddMembers = () => useMutation(ChatService.method.addMembers);
export const useRemoveMember = () => useMutation(ChatService.method.removeMember);
export const useSetMemberRole = () => useMutation(ChatService.method.setMemberRole);
export const useUpdateRoom = () => useMutation(ChatService.method.updateRoom);
export const useRegister = () => useMutation(UserService.method.register);
export const useLogin = () => useMutation(UserService.method.login);
export const useResendOtp = () => useMutation(UserService.method.resendOtp);

/** Several users' profiles at once (a room's members), each cached like useProfile's. */
export function useProfiles(userIds: readonly string[]): Map<string, PublicProfile> {
  const transport = useTransport();
  return useQueries({
    queries: userIds.map((userId) => ({
      ...createQueryOptions(UserService.method.getUser, { userId }, { transport }),
      staleTime: PROFILE_STALE_MS,
    })),
    combine: (results) => {
      const profiles = new Map<string, PublicProfile>();
      for (const r of results) if (r.data?.user) profiles.set(r.data.user.id, r.data.user);
      return profiles;
    },
  });
}
