import assert from "node:assert/strict";
import { test } from "node:test";
import { NotificationLevel } from "@parley/proto/user/v1/user_pb.js";
import { NOTIFICATION_LEVELS, notificationLevelMessage, notificationLevelName } from "../src/notification-levels.js";

test("every stored level maps to its own proto level and back; UNSPECIFIED and unknown values have no name", () => {
  const protos = NOTIFICATION_LEVELS.map(notificationLevelMessage);
  assert.deepEqual(protos, [NotificationLevel.ALL, NotificationLevel.MENTIONS_AND_DIRECT, NotificationLevel.NONE]);
  for (const name of NOTIFICATION_LEVELS) assert.equal(notificationLevelName(notificationLevelMessage(name)), name);
  assert.equal(notificationLevelName(NotificationLevel.UNSPECIFIED), undefined);
  assert.equal(notificationLevelName(99 as NotificationLevel), undefined);
});
