/** Profile and sessions, side by side as tabs (links, so each has its URL). */
import { Link } from "wouter";
import { ProfileForm } from "./ProfileForm.js";
import { SessionList } from "./SessionList.js";
import "./settings.css";
import { ArrowLeftIcon } from "../ui/icons.js";

export default function SettingsPage({ tab }: { tab: "profile" | "sessions" }) {
  return (
    <div className="settings-page">
      <header className="room-header">
        <Link href="/" className="icon-button back-button" aria-label="Back to rooms">
          <ArrowLeftIcon size={20} />
        </Link>
        <div className="room-title">
          <h1>Settings</h1>
        </div>
      </header>
      <nav className="tabs" aria-label="Settings">
        <Link href="/settings/profile" aria-current={tab === "profile" ? "page" : undefined}>
          Profile
        </Link>
        <Link href="/settings/sessions" aria-current={tab === "sessions" ? "page" : undefined}>
          Sessions
        </Link>
      </nav>
      <div className="settings-body">{tab === "profile" ? <ProfileForm /> : <SessionList />}</div>
    </div>
  );
}
