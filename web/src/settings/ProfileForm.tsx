import { NotificationLevel, type User } from "@parley/proto/user/v1/user_pb.js";
import { type FormEvent, useRef, useState } from "react";
import { useMyProfile, useUpdateProfile } from "../data/queries.js";
import { Avatar } from "../ui/Avatar.js";
import { ErrorText, FieldError, fieldError } from "../ui/ErrorText.js";
import { Loading } from "../ui/Loading.js";
import { safeImageUrl } from "../ui/safe-url.js";

export function ProfileForm() {
  const profile = useMyProfile();
  if (!profile.data?.user) return profile.error ? <ErrorText error={profile.error} /> : <Loading label="Loading" />;
  return <ProfileFields user={profile.data.user} />;
}

function ProfileFields({ user }: { user: User }) {
  const [displayName, setDisplayName] = useState(user.displayName);
  const [avatarUrl, setAvatarUrl] = useState(user.avatarUrl);
  const [bio, setBio] = useState(user.bio);
  const [statusText, setStatusText] = useState(user.statusText);
  const [level, setLevel] = useState(user.notificationLevel || NotificationLevel.ALL);
  const update = useUpdateProfile();
  // Pictures load over https only: anything else would show the initial, so say so before saving.
  const avatarWrong = avatarUrl.trim() !== "" && !safeImageUrl(avatarUrl.trim());
  const [avatarChecked, setAvatarChecked] = useState(false);
  const avatarField = useRef<HTMLInputElement>(null);
  const showAvatarError = avatarChecked && avatarWrong;
  const wrong = (field: string) => fieldError(update.error, field);
  // aria-invalid and aria-describedby for an input whose field the last save refused.
  const described = (field: string, hint?: string) => {
    const ids = [wrong(field) ? `${field}-error` : undefined, hint].filter(Boolean).join(" ");
    return { "aria-invalid": wrong(field) ? true : undefined, "aria-describedby": ids || undefined };
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (avatarWrong) {
      setAvatarChecked(true);
      avatarField.current?.focus();
      return;
    }
    update.mutate({
      displayName: displayName.trim(),
      avatarUrl: avatarUrl.trim(),
      bio,
      statusText: statusText.trim(),
      notificationLevel: level,
    });
  };

  return (
    <form className="stack settings-form" onSubmit={submit}>
      <div className="profile-preview">
        <Avatar name={displayName.trim() || user.username} seed={user.id} url={avatarUrl} size={64} />
        <div>
          <strong>{displayName.trim() || user.username}</strong>
          <div className="hint">
            @{user.username} · {user.email}
          </div>
        </div>
      </div>
      <label className="field">
        <span>Display name</span>
        <input
          maxLength={64}
          {...described("display_name", "display-name-hint")}
          value={displayName}
          onChange={(e) => setDisplayName(e.target.value)}
        />
        <FieldError id="display_name-error" text={wrong("display_name")} />
        <small id="display-name-hint">Shown beside your @{user.username}; leave empty to go by your username</small>
      </label>
      <label className="field">
        <span>Avatar URL</span>
        <input
          ref={avatarField}
          type="url"
          maxLength={2048}
          placeholder="https://…"
          {...described("avatar_url", "avatar-hint")}
          aria-invalid={showAvatarError || wrong("avatar_url") ? true : undefined}
          value={avatarUrl}
          onChange={(e) => setAvatarUrl(e.target.value)}
          onBlur={() => setAvatarChecked(true)}
        />
        <FieldError id="avatar_url-error" text={wrong("avatar_url")} />
        <small id="avatar-hint" className={showAvatarError ? "field-error" : undefined}>
          {showAvatarError
            ? "Must be an https link (starting with https://) to a picture"
            : "An https link to a picture"}
        </small>
      </label>
      <label className="field">
        <span>Status</span>
        <input
          maxLength={140}
          {...described("status_text")}
          value={statusText}
          onChange={(e) => setStatusText(e.target.value)}
        />
        <FieldError id="status_text-error" text={wrong("status_text")} />
      </label>
      <label className="field">
        <span>Bio</span>
        <textarea rows={3} maxLength={500} {...described("bio")} value={bio} onChange={(e) => setBio(e.target.value)} />
        <FieldError id="bio-error" text={wrong("bio")} />
      </label>
      <label className="field">
        <span>Email notifications for missed messages</span>
        <select value={level} onChange={(e) => setLevel(Number(e.target.value))}>
          <option value={NotificationLevel.ALL}>All messages</option>
          <option value={NotificationLevel.MENTIONS_AND_DIRECT}>Mentions and direct messages</option>
          <option value={NotificationLevel.NONE}>None</option>
        </select>
      </label>
      <ErrorText error={update.error} except={["display_name", "avatar_url", "status_text", "bio"]} />
      <p role="status" className="hint">
        {update.isSuccess ? "Saved." : ""}
      </p>
      <button type="submit" className="primary" disabled={update.isPending}>
        Save profile
      </button>
    </form>
  );
}
